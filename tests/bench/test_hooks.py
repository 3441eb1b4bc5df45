"""The bench's own arithmetic: what a transaction costs by AWS's rules, whatever DynamoDB Local says."""

from __future__ import annotations

from bench.hooks import Index, transaction_capacity

KEYS = frozenset({"gsi1pk", "gsi1sk"})
NEW_REFUND = {"pk": {"S": "REFUND#a#r1"}, "gsi1pk": {"S": "a#refund"}, "gsi1sk": {"S": "1#r1"}, "fee": {"N": "1"}}
RESERVE_ON_BILL = {
    "TableName": "orders",
    "Key": {"pk": {"S": "BILL#a#b1"}},
    "UpdateExpression": "SET active_refund = :rn ADD refund_reserved :fee",
    "ExpressionAttributeValues": {":rn": {"S": "r1"}, ":fee": {"N": "1"}},
}
REFUND_TRANSACTION = {
    "TransactItems": [{"Put": {"TableName": "orders", "Item": NEW_REFUND}}, {"Update": RESERVE_ON_BILL}],
}


def test_transactional_writes_cost_double_and_a_keys_only_index_only_gets_the_new_item() -> None:
    indexes = {"orders": (Index(KEYS, "KEYS_ONLY"),)}
    # refund put 2 + its index entry 1, bill update 2 and no index write (its keys do not change)
    assert transaction_capacity(REFUND_TRANSACTION, indexes) == 5


def test_an_index_that_projects_all_is_rewritten_by_every_update() -> None:
    indexes = {"orders": (Index(KEYS, "ALL"),)}
    assert transaction_capacity(REFUND_TRANSACTION, indexes) == 6


def test_an_update_that_moves_an_index_key_rewrites_a_keys_only_index() -> None:
    moving = RESERVE_ON_BILL | {
        "UpdateExpression": "SET #sk = :sk",
        "ExpressionAttributeNames": {"#sk": "gsi1sk"},
        "ExpressionAttributeValues": {":sk": {"S": "2#b1"}},
    }
    indexes = {"orders": (Index(KEYS, "KEYS_ONLY"),)}
    assert transaction_capacity({"TransactItems": [{"Update": moving}]}, indexes) == 3


def test_a_table_without_indexes_pays_only_the_doubled_item_writes() -> None:
    assert transaction_capacity(REFUND_TRANSACTION, {}) == 4
