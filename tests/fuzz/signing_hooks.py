"""Schemathesis hooks for the fuzz run: sign 002's signed requests with a seeded key.

The Ocean Provider endpoints that take an Ethereum signature (encrypt, download, compute and
computeResult) refuse anything schemathesis can invent at the signature check (401 or 400), so
without help the fuzzer never reaches the logic behind it. This hook runs just before each request
is sent, after schemathesis generated every other field: for a signed operation it sets the signer's
address field (consumerAddress or publisherAddress) to a seeded key's address, a fresh increasing
nonce, and the EIP-191 signature over the fields the endpoint's message covers, as they will arrive
at the server. Everything else the fuzzer generated (documentId, jobId, index, fileIndex, bodies...)
is sent as generated, so it meets the real logic.

A negative case whose mutation is the address, the nonce or the signature itself is sent unsigned,
as generated: those refusals are what tests/compute covers, and schemathesis still probes them here.
Bodies that are not an object (a negative case's list or string) cannot carry the fields and are
sent unchanged too.

The test writes what to sign into a JSON file named by D2D_FUZZ_SIGNING:
{"operations": {"METHOD /path": {"fields": [...], "address_field": "...", "key": "0x..."}}}; the
fields come from compute.signatures.MESSAGES, so this module needs no Django. Loaded by schemathesis
from SCHEMATHESIS_HOOKS (a file path: st runs in the test's temporary directory).
"""

import itertools
import json
import os
import time

import schemathesis
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak
from schemathesis.generation.meta import negated_parameters

with open(os.environ["D2D_FUZZ_SIGNING"]) as handle:
    OPERATIONS: dict = json.load(handle)["operations"]
ACCOUNTS = {spec["key"]: Account.from_key(spec["key"]) for spec in OPERATIONS.values()}
# Greater than any nonce the seeding used, and increasing with every request, as the server requires.
NONCES = itertools.count(int(time.time() * 1000) * 1000)
SIGNED_COUNTS: dict[str, int] = {}


def wire_text(value):
    """A query or form value as the server will read it (requests drops None; Django takes a list's last value)."""
    if isinstance(value, list):
        value = value[-1] if value else None
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, dict, list)):
        return json.dumps(value)
    return str(value)


def message(fields: list[str], data: dict, nonce: str) -> str:
    """compute.signatures.message_for, on the fields as the server will see them."""
    return "".join(str(data.get(name) or "") for name in fields) + nonce


@schemathesis.hook
def before_call(context, case, kwargs):
    operation = case.operation
    spec = OPERATIONS.get(f"{operation.method.upper()} {operation.path}")
    if spec is None or case.method.upper() != operation.method.upper():
        return  # not a signed operation, or a probe with another method
    address_field = spec["address_field"]
    own = {address_field, "nonce", "signature"}
    if any(name in own for name, _ in negated_parameters(case._meta)):
        return  # the case is about the signature fields themselves: send it as generated
    in_body = operation.method.upper() == "POST"
    container = case.body if in_body else case.query
    if container is None and not in_body:
        container = {}
    if not isinstance(container, dict):
        return
    container = dict(container)
    json_body = in_body and (case.media_type or "application/json").split(";")[0].strip().endswith("json")
    if not json_body:
        # Query strings and forms carry text: send the covered fields as the text they are signed as.
        for name in spec["fields"]:
            if name in container:
                text = wire_text(container[name])
                if text is None:
                    del container[name]
                else:
                    container[name] = text
    # What compute.api.views.request_fields gives the server: the query, then the body over it.
    query = case.query if in_body and isinstance(case.query, dict) else {}
    account = ACCOUNTS[spec["key"]]
    nonce = str(next(NONCES))
    container[address_field] = account.address
    container["nonce"] = nonce
    data = {**{key: wire_text(value) for key, value in query.items()}, **container}
    try:
        text = message(spec["fields"], data, nonce)
        digest = keccak(text=text)
    except UnicodeEncodeError:
        return  # a lone surrogate cannot be sent as UTF-8 anyway: leave the case as generated
    signed = Account.sign_message(encode_defunct(primitive=digest), account.key)
    container["signature"] = "0x" + bytes(signed.signature).hex()
    if in_body:
        case.body = container
    else:
        case.query = container
    name = f"{operation.method.upper()} {operation.path}"
    SIGNED_COUNTS[name] = SIGNED_COUNTS.get(name, 0) + 1
