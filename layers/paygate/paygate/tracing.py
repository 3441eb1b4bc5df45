"""X-Ray tracing, only where the stack turns it on (template parameter `Tracing`).

Powertools `Tracer()` imports aws_xray_sdk, which builds its own botocore machinery: about
450 ms of cold start without `.pyc`. So no function builds one unless `PAYGATE_TRACING` is
`Active`; then the handler is wrapped and boto3 and httpx calls become subsegments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, cast

from pydantic import Field
from pydantic_settings import BaseSettings


class TracingSettings(BaseSettings):
    mode: Literal["Active", "Disabled"] = Field(default="Disabled", alias="PAYGATE_TRACING")


def traced[Handler: Callable[..., object]](handler: Handler) -> Handler:
    """The handler itself when tracing is off; wrapped by Powertools Tracer when it is on."""
    if TracingSettings().mode != "Active":
        return handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer()  # patches botocore and httpx (Powertools' default modules)
    return cast(Handler, tracer.capture_lambda_handler(handler))
