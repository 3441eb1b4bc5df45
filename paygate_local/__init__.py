"""paygate's embedded local stack: the Docker-free `sam local start-api` + `start-lambda`.

Run it with `make run` (`python -m paygate_local`); use it from tests with
`paygate_local.stack.LocalStack`. See docs/local-stack.md.
"""
