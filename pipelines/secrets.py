"""Masking of connector secrets: the fields a spec marks secret never leave the server in clear."""

MASK = "********"


def _is_secret(prop: dict) -> bool:
    return bool(prop.get("secret") or prop.get("airbyte_secret") or prop.get("format") == "password")


def is_secret(prop: dict) -> bool:
    """Whether a spec property holds a secret (a form shows it as a password input)."""
    return _is_secret(prop)


def contains_mask(value) -> bool:
    """Whether a config (at any depth) holds a secret sent back as MASK."""
    if isinstance(value, dict):
        return any(contains_mask(v) for v in value.values())
    return value == MASK


def mask_config(spec: dict, config: dict) -> dict:
    """A copy of ``config`` with every secret value (at any depth of the spec) replaced by MASK."""
    if not isinstance(config, dict):
        return config
    properties = spec.get("properties", {}) if isinstance(spec, dict) else {}
    masked = {}
    for key, value in config.items():
        prop = properties.get(key, {})
        if _is_secret(prop) and value not in (None, ""):
            masked[key] = MASK
        elif isinstance(value, dict) and prop.get("type") == "object":
            masked[key] = mask_config(prop, value)
        else:
            masked[key] = value
    return masked


def keep_masked_secrets(spec: dict, new: dict, stored: dict) -> dict:
    """``new`` with each secret that came back as MASK replaced by the stored value (an update keeps it)."""
    if not isinstance(new, dict):
        return new
    properties = spec.get("properties", {}) if isinstance(spec, dict) else {}
    merged = {}
    for key, value in new.items():
        prop = properties.get(key, {})
        old = stored.get(key) if isinstance(stored, dict) else None
        if _is_secret(prop) and value == MASK:
            merged[key] = old if old is not None else ""
        elif isinstance(value, dict) and prop.get("type") == "object":
            merged[key] = keep_masked_secrets(prop, value, old or {})
        else:
            merged[key] = value
    return merged


def secret_values(spec: dict, config: dict) -> list[str]:
    """Every secret string in ``config``, so log lines can be scrubbed of them."""
    found = []
    properties = spec.get("properties", {}) if isinstance(spec, dict) else {}
    for key, value in (config or {}).items():
        prop = properties.get(key, {})
        if _is_secret(prop) and isinstance(value, str) and value:
            found.append(value)
        elif isinstance(value, dict):
            found.extend(secret_values(prop, value))
    return found


def scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, MASK)
    return text


def blank_secrets(spec: dict, config: dict) -> dict:
    """A copy of ``config`` with every secret emptied: a form shows a secret as a blank password input."""
    masked = mask_config(spec, config)
    return _replace_secrets(spec, masked, lambda value: "" if value == MASK else value)


def blank_secrets_as_mask(spec: dict, config: dict) -> dict:
    """A form's config with each secret left blank sent back as MASK, which ``keep_masked_secrets`` fills from the stored one."""
    return _replace_secrets(spec, config, lambda value: MASK if value in (None, "") else value)


def _replace_secrets(spec: dict, config, change) -> dict:
    if not isinstance(config, dict):
        return config
    properties = spec.get("properties", {}) if isinstance(spec, dict) else {}
    result = {}
    for key, value in config.items():
        prop = properties.get(key, {})
        if _is_secret(prop):
            result[key] = change(value)
        elif isinstance(value, dict) and prop.get("type") == "object":
            result[key] = _replace_secrets(prop, value, change)
        else:
            result[key] = value
    return result
