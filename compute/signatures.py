"""Signed requests as Ocean's provider checks them: EIP-191 over keccak-256 of the fields plus a nonce.

The client concatenates the endpoint's fields (see MESSAGES) and the nonce as strings,
hashes the UTF-8 bytes with keccak-256 and personal-signs that 32-byte hash. The server
recovers the signer, compares checksummed addresses, and then accepts the nonce only if
it is greater than the last one accepted for that address (so a captured request
cannot be replayed).
"""

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.exceptions import BadSignature
from eth_utils import is_hex_address, keccak, to_checksum_address

from compute import conf
from compute.models import Nonce
from kernel.errors import DomainError

# The fields each signed endpoint concatenates, in order, before the nonce.
MESSAGES = {
    "encrypt": ("documentId",),
    "download": ("documentId",),
    "compute_start": ("consumerAddress", "documentId"),
    "compute_status": ("consumerAddress", "jobId", "documentId"),
    "compute_result": ("consumerAddress", "jobId", "index"),
    "orders": ("consumerAddress",),
}
MAX_NONCE_DIGITS = 40


class SignatureRejected(DomainError):
    """The request is not from the address it names, or is a replay: 401."""

    status = 401
    code = "signature_rejected"


def message_for(endpoint: str, fields: dict, nonce) -> str:
    return "".join(str(fields.get(name) or "") for name in MESSAGES[endpoint]) + str(nonce)


def message_hash(message: str) -> bytes:
    return keccak(text=message)


def sign(message: str, private_key) -> str:
    """What a client does (used by tests and the docs' example): personal_sign of keccak(message)."""
    signed = Account.sign_message(encode_defunct(primitive=message_hash(message)), private_key)
    return "0x" + bytes(signed.signature).hex()


def checksum(address: str, *, field: str) -> str:
    if not address:
        raise DomainError(f"{field} is required", field=field)
    # Like Ocean's provider, any-case hex is accepted and checksummed; a wrong checksum is not refused.
    if not isinstance(address, str) or not is_hex_address(address):
        raise DomainError(f"{field} is not an Ethereum address", field=field)
    return to_checksum_address(address)


def parse_nonce(raw) -> Decimal:
    if raw is None or str(raw).strip() == "":
        raise DomainError("nonce is required", field="nonce")
    text = str(raw).strip()
    if not text.isdigit() or len(text) > MAX_NONCE_DIGITS:
        raise DomainError("nonce must be a non-negative integer", field="nonce")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise DomainError("nonce must be a non-negative integer", field="nonce") from None


def refuse_nul(value, field: str = "") -> None:
    """PostgreSQL stores no NUL in text or JSON: refuse it as a 400 before a lookup or a save would fail."""
    if isinstance(value, str) and "\x00" in value:
        raise DomainError(f"{field or 'a field'} contains a NUL character", field=field or None)
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_nul(key, field or str(key))
            refuse_nul(item, field or str(key))
    elif isinstance(value, list):
        for item in value:
            refuse_nul(item, field)


def recover_signer(message: str, signature, *, hashed: bool = True) -> str:
    """The address that signed ``message`` (its keccak-256 when ``hashed``, else its text, as 0.8.x signs)."""
    if not isinstance(signature, str):
        raise DomainError("signature must be a hex string", field="signature")
    raw = signature.strip().removeprefix("0x")
    try:
        data = bytearray.fromhex(raw)
    except ValueError:
        raise DomainError("signature is not hex", field="signature") from None
    if len(data) != 65:
        raise DomainError("signature must be 65 bytes (r, s, v)", field="signature")
    if data[64] < 27:  # some wallets give v as 0/1
        data[64] += 27
    try:
        signable = encode_defunct(primitive=message_hash(message)) if hashed else encode_defunct(text=message)
        return Account.recover_message(signable, signature=bytes(data))
    except (ValueError, TypeError, BadSignature):
        raise SignatureRejected("invalid signature: no signer can be recovered") from None


def nonce_current(address: str) -> Decimal:
    row = Nonce.objects.filter(address=checksum(address, field="userAddress")).first()
    return row.value if row else Decimal(0)


def nonce_accept(address: str, nonce: Decimal) -> None:
    """Store ``nonce`` as the address's last one if it is greater, atomically; else refuse as a replay."""
    if Nonce.objects.filter(address=address, value__lt=nonce).update(value=nonce):
        return
    if not Nonce.objects.filter(address=address).exists():
        try:
            with transaction.atomic():
                Nonce.objects.create(address=address, value=nonce)
            if nonce > 0:
                return
        except IntegrityError:  # a concurrent first request created it: compare against that one
            if Nonce.objects.filter(address=address, value__lt=nonce).update(value=nonce):
                return
    last = nonce_current(address)
    raise SignatureRejected(f"nonce {nonce} was already used: it must be greater than {last}")


def is_legacy(data: dict) -> bool:
    """A request in ocean-lib 0.8.x's form (no nonce sent), accepted only with D2D_COMPUTE_LEGACY_SIGNATURES on."""
    return conf.legacy_signatures() and str(data.get("nonce") or "").strip() == "" and bool(data.get("signature"))


def legacy_request_verify(endpoint: str, data: dict, address: str, address_field: str) -> str:
    """ocean-lib 0.8.x: EIP-191 over the raw text plus the stored nonce; success advances the stored nonce.

    Weaker than the default form: the client does not choose the nonce, so a signed request that never
    reached d2d stays valid until the address makes another call (docs/compute.md).
    """
    current = nonce_current(address)
    message = message_for(endpoint, data, int(current))
    signer = recover_signer(message, data["signature"], hashed=False)
    if signer != address:
        raise SignatureRejected(f"signature does not match {address_field}: the message was signed by another key")
    advanced = Nonce.objects.filter(address=address, value=current).update(value=current + 1)
    if not advanced:
        try:
            with transaction.atomic():
                Nonce.objects.create(address=address, value=current + 1)
        except IntegrityError:  # another call of this address won the same nonce
            raise SignatureRejected(f"nonce {int(current)} was already used: ask for the nonce again") from None
    refuse_nul(data)
    return address


def signed_request_verify(endpoint: str, data: dict, *, address_field: str = "consumerAddress") -> str:
    """Check the signature and nonce of one request; returns the signer's checksummed address."""
    address = checksum(data.get(address_field, ""), field=address_field)
    signature = data.get("signature")
    if not signature:
        raise DomainError("signature is required", field="signature")
    if is_legacy(data):
        return legacy_request_verify(endpoint, data, address, address_field)
    nonce = parse_nonce(data.get("nonce"))
    fields = {**data, address_field: data.get(address_field)}
    signer = recover_signer(message_for(endpoint, fields, data.get("nonce")), signature)
    if signer != address:
        raise SignatureRejected(f"signature does not match {address_field}: the message was signed by another key")
    nonce_accept(address, nonce)
    refuse_nul(data)  # only an authentic request gets this far; its fields go to the database next
    return address
