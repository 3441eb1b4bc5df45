"""Console users: passwords stored only as scrypt hashes, one email per deployment, a lockout that
holds under concurrent guessing, and sign-in answers that tell a stranger nothing."""

from __future__ import annotations

import base64
import threading
from typing import Any

import pytest

from paygate.console import users as users_module
from paygate.console.users import (
    LOCKOUT_MS,
    MAX_FAILED_LOGINS,
    LoginOutcome,
    Role,
    UserService,
    hash_password,
    new_password,
    verify_password,
)
from paygate.errors import ConflictError, InvalidRequestError, NotFoundError
from paygate.store.console import ConsoleStore

APP = "app_0123456789abcdef"
OTHER_APP = "app_fedcba9876543210"
EMAIL = "ops@shop.example"
PASSWORD = "correct horse battery"
WRONG = "not the password"


def _items(db: Any) -> list[dict[str, Any]]:
    return db.scan(TableName="console")["Items"]


# ---------------------------------------------------------------- passwords


def test_a_password_is_stored_as_salted_scrypt_and_only_its_own_password_matches():
    encoded = hash_password(PASSWORD)

    scheme, n, r, p, salt, key = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", "32768", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(key)) == 32
    assert PASSWORD not in encoded
    assert hash_password(PASSWORD) != encoded  # a fresh salt each time
    assert verify_password(PASSWORD, encoded)
    assert not verify_password(PASSWORD + "x", encoded)
    assert not verify_password("", encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "garbage",
        "scrypt$32768$8$1$c2FsdA==",  # a field short
        "bcrypt$32768$8$1$c2FsdHNhbHRzYWx0c2FsdA==$" + "A" * 44,
        "scrypt$lots$8$1$c2FsdHNhbHRzYWx0c2FsdA==$" + "A" * 44,
        "scrypt$32768$8$1$not base64!$" + "A" * 44,
        "scrypt$32768$8$1$$" + "A" * 44,  # no salt
        "scrypt$3$8$1$c2FsdHNhbHRzYWx0c2FsdA==$" + "A" * 44,  # n not a power of 2
        "scrypt$1073741824$8$1$c2FsdHNhbHRzYWx0c2FsdA==$" + "A" * 44,  # far beyond the memory limit
    ],
)
def test_a_malformed_hash_never_matches_and_never_raises(encoded):
    assert verify_password(PASSWORD, encoded) is False


def test_generated_passwords_are_long_random_and_distinct():
    drawn = {new_password() for _ in range(50)}
    assert len(drawn) == 50
    assert all(len(password) == 24 for password in drawn)


# ---------------------------------------------------------------- creating and managing users


def test_a_new_user_gets_a_generated_password_that_signs_in(users: UserService):
    user, password = users.create(APP, "  Ops@Shop.Example ", Role.OPERATOR)

    assert user.email == EMAIL  # the sign-in name, lower-case
    assert (user.app_id, user.role, user.disabled, user.failed_logins) == (APP, Role.OPERATOR, False, 0)
    assert len(password) >= 12
    result = users.authenticate("OPS@shop.example", password)
    assert result.outcome is LoginOutcome.OK
    assert result.user is not None
    assert result.user.email == EMAIL


def test_the_password_hash_is_never_shown(users: UserService):
    user, _ = users.create(APP, EMAIL, Role.VIEWER, PASSWORD)

    assert "password_hash" not in repr(user)
    assert user.password_hash not in repr(user)
    assert user.password_hash not in str(user)
    assert user.public() == {
        "app_id": APP,
        "email": EMAIL,
        "role": "viewer",
        "disabled": False,
        "failed_logins": 0,
        "locked_until_ms": 0,
        "created_at_ms": user.created_at_ms,
        "password_changed_at_ms": user.created_at_ms,
        "disabled_at_ms": 0,
    }


@pytest.mark.parametrize("password", ["a" * 11, "a" * 129, ""])
def test_a_chosen_password_has_12_to_128_characters(users: UserService, db, password):
    with pytest.raises(InvalidRequestError):
        users.create(APP, EMAIL, Role.VIEWER, password)

    assert _items(db) == []


@pytest.mark.parametrize("password", ["a" * 12, "a" * 128])
def test_passwords_at_the_limits_are_accepted(users: UserService, password):
    users.create(APP, EMAIL, Role.VIEWER, password)
    assert users.authenticate(EMAIL, password).outcome is LoginOutcome.OK


@pytest.mark.parametrize(
    "email",
    ["", "ops", "ops@", "@shop.example", "ops@shop", "o ps@shop.example", "ops@@shop.example", "a@b.c" + "x" * 250],
)
def test_an_email_that_is_no_address_is_refused(users: UserService, db, email):
    with pytest.raises(InvalidRequestError):
        users.create(APP, email, Role.VIEWER)
    assert _items(db) == []


def test_an_email_belongs_to_one_user_in_the_whole_deployment(users: UserService, db):
    first, password = users.create(APP, EMAIL, Role.VIEWER)
    before = _items(db)

    with pytest.raises(ConflictError) as same_app:
        users.create(APP, EMAIL, Role.OPERATOR)
    with pytest.raises(ConflictError) as other_app:
        users.create(OTHER_APP, "OPS@SHOP.EXAMPLE", Role.OPERATOR)

    assert same_app.value.code == other_app.value.code == "user_exists"
    assert _items(db) == before  # nothing half-written: no user item of the other app, nothing changed
    assert users.list(OTHER_APP) == []
    assert users.get(EMAIL) == first
    assert users.authenticate(EMAIL, password).outcome is LoginOutcome.OK


def test_a_user_is_never_created_without_its_login_pointer(users: UserService, console: ConsoleStore, db):
    # A pointer left over (say, restored from a backup) blocks the email: the user item is not written either.
    db.put_item(
        TableName="console",
        Item={"pk": {"S": f"LOGIN#{EMAIL}"}, "sk": {"S": "LOGIN"}, "app_id": {"S": OTHER_APP}},
    )

    with pytest.raises(ConflictError):
        users.create(APP, EMAIL, Role.VIEWER)

    assert console.user(APP, EMAIL) is None
    assert len(_items(db)) == 1


def test_an_apps_users_are_listed_by_email_and_only_its_own(users: UserService):
    for email in ("carol@shop.example", "alice@shop.example", "bob@shop.example"):
        users.create(APP, email, Role.VIEWER)
    users.create(OTHER_APP, "dave@other.example", Role.OPERATOR)

    assert [user.email for user in users.list(APP)] == ["alice@shop.example", "bob@shop.example", "carol@shop.example"]
    assert [user.email for user in users.list(OTHER_APP)] == ["dave@other.example"]
    assert users.list("app_0000000000000000") == []


def test_a_disabled_user_cannot_sign_in_until_enabled(users: UserService):
    users.create(APP, EMAIL, Role.VIEWER, PASSWORD)

    disabled = users.disable(EMAIL)
    refused = users.authenticate(EMAIL, PASSWORD)
    enabled = users.enable(EMAIL)
    allowed = users.authenticate(EMAIL, PASSWORD)

    assert disabled.disabled
    assert refused.outcome is LoginOutcome.BAD_CREDENTIALS  # the answer a wrong password gets
    assert not enabled.disabled
    assert allowed.outcome is LoginOutcome.OK


@pytest.mark.parametrize("change", ["disable", "enable", "reset_password"])
def test_changing_an_unknown_user_is_not_found(users: UserService, change):
    with pytest.raises(NotFoundError):
        getattr(users, change)("nobody@shop.example")


def test_a_role_change_is_stored(users: UserService):
    users.create(APP, EMAIL, Role.OPERATOR)
    assert users.set_role(EMAIL, Role.VIEWER).role is Role.VIEWER
    stored = users.get(EMAIL)
    assert stored is not None
    assert stored.role is Role.VIEWER
    assert not stored.role.can_act
    assert Role.OPERATOR.can_act


def test_a_reset_password_replaces_the_old_one(users: UserService, clock):
    users.create(APP, EMAIL, Role.VIEWER, PASSWORD)
    clock.advance(1000)

    new = users.reset_password(EMAIL)

    assert new != PASSWORD
    assert users.authenticate(EMAIL, PASSWORD).outcome is LoginOutcome.BAD_CREDENTIALS
    assert users.authenticate(EMAIL, new).outcome is LoginOutcome.OK
    user = users.get(EMAIL)
    assert user is not None
    assert user.password_changed_at_ms == clock.ms


def test_a_chosen_reset_password_follows_the_rule(users: UserService):
    users.create(APP, EMAIL, Role.VIEWER, PASSWORD)
    with pytest.raises(InvalidRequestError):
        users.reset_password(EMAIL, "short")
    assert users.reset_password(EMAIL, "a much longer password") == "a much longer password"


# ---------------------------------------------------------------- signing in


def test_unknown_email_wrong_password_and_disabled_user_get_the_same_answer(users: UserService, monkeypatch):
    users.create(APP, EMAIL, Role.VIEWER, PASSWORD)
    users.create(APP, "gone@shop.example", Role.VIEWER, PASSWORD)
    users.disable("gone@shop.example")
    checked: list[str] = []
    real = users_module.verify_password

    def counting(password: str, encoded: str) -> bool:
        checked.append(encoded)
        return real(password, encoded)

    monkeypatch.setattr(users_module, "verify_password", counting)

    unknown = users.authenticate("stranger@shop.example", PASSWORD)
    not_an_email = users.authenticate("not an email", PASSWORD)
    wrong = users.authenticate(EMAIL, WRONG)
    disabled = users.authenticate("gone@shop.example", PASSWORD)

    assert {r.outcome for r in (unknown, not_an_email, wrong, disabled)} == {LoginOutcome.BAD_CREDENTIALS}
    assert unknown.user is None
    assert unknown.locked_until_ms == wrong.locked_until_ms == disabled.locked_until_ms == 0
    assert len(checked) == 4  # a password hash is checked every time: the same work for a stranger
    assert checked[0] == checked[1]
    assert checked[0].startswith("scrypt$32768$8$1$")  # a dummy of the real cost


def test_five_wrong_passwords_in_a_row_lock_the_user_for_15_minutes(users: UserService, clock):
    users.create(APP, EMAIL, Role.VIEWER, PASSWORD)

    outcomes = [users.authenticate(EMAIL, WRONG).outcome for _ in range(MAX_FAILED_LOGINS - 1)]
    locking = users.authenticate(EMAIL, WRONG)

    assert outcomes == [LoginOutcome.BAD_CREDENTIALS] * 4
    assert locking.outcome is LoginOutcome.LOCKED
    assert locking.locked_until_ms == clock.ms + LOCKOUT_MS
    until = locking.locked_until_ms

    clock.advance(5 * 60_000)
    right_but_locked = users.authenticate(EMAIL, PASSWORD)
    wrong_while_locked = users.authenticate(EMAIL, WRONG)
    assert right_but_locked.outcome is wrong_while_locked.outcome is LoginOutcome.LOCKED
    assert right_but_locked.locked_until_ms == wrong_while_locked.locked_until_ms == until  # not extended

    clock.ms = until - 1
    assert users.authenticate(EMAIL, PASSWORD).outcome is LoginOutcome.LOCKED
    clock.ms = until
    assert users.authenticate(EMAIL, PASSWORD).outcome is LoginOutcome.OK


def test_after_a_lock_the_count_starts_again(users: UserService, clock):
    users.create(APP, EMAIL, Role.VIEWER, PASSWORD)
    for _ in range(MAX_FAILED_LOGINS):
        users.authenticate(EMAIL, WRONG)
    clock.advance(LOCKOUT_MS)

    again = [users.authenticate(EMAIL, WRONG).outcome for _ in range(MAX_FAILED_LOGINS)]

    assert again == [LoginOutcome.BAD_CREDENTIALS] * 4 + [LoginOutcome.LOCKED]


def test_a_success_resets_the_count(users: UserService):
    users.create(APP, EMAIL, Role.VIEWER, PASSWORD)
    for _ in range(MAX_FAILED_LOGINS - 1):
        users.authenticate(EMAIL, WRONG)

    assert users.authenticate(EMAIL, PASSWORD).outcome is LoginOutcome.OK
    later = [users.authenticate(EMAIL, WRONG).outcome for _ in range(MAX_FAILED_LOGINS - 1)]

    assert later == [LoginOutcome.BAD_CREDENTIALS] * 4
    user = users.get(EMAIL)
    assert user is not None
    assert (user.failed_logins, user.locked_until_ms) == (4, 0)


def test_a_reset_password_unlocks_the_user(users: UserService):
    users.create(APP, EMAIL, Role.VIEWER, PASSWORD)
    for _ in range(MAX_FAILED_LOGINS):
        users.authenticate(EMAIL, WRONG)

    new = users.reset_password(EMAIL)

    assert users.authenticate(EMAIL, new).outcome is LoginOutcome.OK


def _serialise_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto is not thread-safe; DynamoDB applies the writes to one item one at a time, so moto may too."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("get_item", "put_item", "update_item", "query", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


def test_wrong_passwords_sent_at_once_lock_after_exactly_five(users: UserService, console, clock, monkeypatch):
    """Every guess reads the user before any is counted: only atomic counting stops the sixth guess."""
    _serialise_moto(monkeypatch)
    users.create(APP, EMAIL, Role.VIEWER, PASSWORD)
    guesses = 10
    everyone_read = threading.Barrier(guesses)
    real_get = UserService.get

    def get_then_wait(self: UserService, email: str) -> Any:
        found = real_get(self, email)
        everyone_read.wait(timeout=60)
        return found

    monkeypatch.setattr(UserService, "get", get_then_wait)
    # Two services on one table, as two Lambda containers would be.
    services = [users, UserService(console, clock)]
    outcomes: list[LoginOutcome] = []

    def guess(i: int) -> None:
        outcomes.append(services[i % 2].authenticate(EMAIL, f"guess number {i}").outcome)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(outcomes) == sorted([LoginOutcome.BAD_CREDENTIALS] * 4 + [LoginOutcome.LOCKED] * 6)
    monkeypatch.setattr(UserService, "get", real_get)
    user = users.get(EMAIL)
    assert user is not None
    assert user.locked_until_ms == clock.ms + LOCKOUT_MS
    assert users.authenticate(EMAIL, PASSWORD).outcome is LoginOutcome.LOCKED


def test_a_correct_password_that_loses_the_race_to_a_lock_is_locked(users: UserService, console, clock, monkeypatch):
    users.create(APP, EMAIL, Role.VIEWER, PASSWORD)
    other = UserService(console, clock)
    real_verify = users_module.verify_password

    def verify_while_others_guess(password: str, encoded: str) -> bool:
        monkeypatch.setattr(users_module, "verify_password", real_verify)
        for _ in range(MAX_FAILED_LOGINS):
            other.authenticate(EMAIL, WRONG)  # the lock lands between our read and our write
        return real_verify(password, encoded)

    monkeypatch.setattr(users_module, "verify_password", verify_while_others_guess)

    result = users.authenticate(EMAIL, PASSWORD)

    assert result.outcome is LoginOutcome.LOCKED
    assert result.locked_until_ms == clock.ms + LOCKOUT_MS


def test_sign_in_logs_no_password_hash_or_email(users: UserService, capsys, caplog):
    caplog.set_level("DEBUG")
    user, password = users.create(APP, EMAIL, Role.VIEWER)
    for _ in range(MAX_FAILED_LOGINS):
        users.authenticate(EMAIL, WRONG)
    users.authenticate(EMAIL, password)
    users.reset_password(EMAIL)

    logged = capsys.readouterr().out + capsys.readouterr().err + caplog.text
    for secret in (password, WRONG, user.password_hash, EMAIL):
        assert secret not in logged
