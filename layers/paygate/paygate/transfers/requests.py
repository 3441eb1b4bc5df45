"""What a caller asks of transfers (a payout, a collection), in INR paise.

Validated before anything is recorded or sent, with rules at least as strict as BeilyPay's, so a
request that passes here is one BeilyPay should accept (a provider-side parameter complaint is
then a 502, see docs/providers.md §4).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from paygate.providers import limits
from paygate.providers.limits import MAX_AMOUNT
from paygate.validation import HumanText, fingerprint

MAX_URL_LENGTH = 512  # the BeilyPay emulator's (and a sensible) notifyUrl/frontCallback limit

# Merchant order numbers double as part of the Step Functions execution name (<= 80 characters:
# "payout-" + app id (20) + "-" + 32), so only characters execution names allow.
OutOrderNo = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]{1,32}$"), AfterValidator(limits.check_text)]
Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT), AfterValidator(limits.check_amount)]

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def _url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError("must be an http(s) URL")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("must be an e-mail address")
    return value


# Every string BeilyPay receives ends with the adapter's own check (paygate.providers.limits
# .check_text: non-empty, nothing BeilyPay's verifier would trim, valid Unicode), so whatever the
# adapter would refuse is a 422 here. Surrounding whitespace is trimmed first, then checked.
_Sendable = AfterValidator(limits.check_text)

# Required text: trimmed, then non-empty; people read it (names, addresses), so it is
# human-readable text (one line, no control or bidi characters).
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), HumanText, _Sendable]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256), HumanText, _Sendable]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254), AfterValidator(_email), _Sendable
]
# Indian mobile numbers: 10 digits starting 6-9 (no +91, no leading 0).
Mobile = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[6-9][0-9]{9}$"), _Sendable]
Ifsc = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z]{4}0[A-Z0-9]{6}$"), _Sendable]
# Indian bank account numbers are 9-18 digits in practice; 6-20 leaves room for small banks.
AccountNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6,20}$"), _Sendable]
BankCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z_-]{1,32}$"), _Sendable]
Url = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_URL_LENGTH), AfterValidator(_url), _Sendable
]


class CreatePayoutRequest(BaseModel):
    """POST /payouts: pay `amount` paise to an Indian bank account (BeilyPay /v2/trans/create)."""

    model_config = ConfigDict(extra="forbid")

    out_order_no: OutOrderNo = Field(description="Merchant order number: 1-32 of A-Z a-z 0-9 _ -, unique per app")
    amount: Amount = Field(description="Amount in paise (INR minor units), 1 to 2147483647")
    account_type: Literal["Card"] = Field(description="Only `Card` (a bank account) is supported by BeilyPay")
    account: AccountNumber = Field(description="Beneficiary bank account number, 6-20 digits")
    account_owner: Text = Field(description="Account holder's name")
    bank_code: BankCode = Field(description="Bank code as BeilyPay knows it")
    ifsc: Ifsc = Field(description="Branch IFSC: 4 letters, 0, 6 letters or digits (e.g. SBIN0001234)")
    address: LongText = Field(description="Beneficiary address")
    email: Email = Field(description="Beneficiary e-mail")
    mobile: Mobile = Field(description="Beneficiary mobile: 10 digits, Indian numbering (6-9 first)")

    def fingerprint(self) -> str:
        return fingerprint(self, exclude_none=False)


class CreateCollectionRequest(BaseModel):
    """POST /collections: ask a payer for `amount` paise; they pay at the returned `pay_url`."""

    model_config = ConfigDict(extra="forbid")

    out_order_no: OutOrderNo = Field(description="Merchant order number: 1-32 of A-Z a-z 0-9 _ -, unique per app")
    amount: Amount = Field(description="Amount in paise (INR minor units), 1 to 2147483647")
    user_id: Text = Field(description="The payer's id in the merchant's system")
    user_name: Text = Field(description="The payer's name")
    email: Email = Field(description="The payer's e-mail")
    mobile: Mobile = Field(description="The payer's mobile: 10 digits, Indian numbering")
    return_url: Url = Field(description="Where BeilyPay's pay page sends the payer afterwards (frontCallback)")

    def fingerprint(self) -> str:
        return fingerprint(self, exclude_none=False)
