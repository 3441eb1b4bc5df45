"""paygate: the shared layer (domain, store, provider adapters, events, API glue)."""

import logging

# Whatever level the runtime gives the root logger (Lambda's advanced logging controls can set
# DEBUG), these libraries never write below WARNING: httpx logs every request's full URL at INFO,
# and BeeCloud's queries carry `app_sign` in theirs; botocore logs request and response bodies at
# DEBUG, Secrets Manager's values included. paygate's own lines go through Powertools.
for _library in ("httpx", "botocore"):
    logging.getLogger(_library).setLevel(logging.WARNING)
