"""Solr's security.json: BasicAuthPlugin users (salted SHA-256, as Solr stores them) and the rule-based permissions
docker-compose uploads to ZooKeeper (`cbir solr-security`, then `solr zk cp`)."""

import base64
import hashlib
import secrets
from typing import Any

ADMIN_USER = "admin"


def password_hash(password: str, salt: bytes | None = None) -> str:
    """Solr's BasicAuthPlugin form: base64(sha256(sha256(salt + password))) + ' ' + base64(salt)."""
    salt = salt if salt is not None else secrets.token_bytes(32)
    digest = hashlib.sha256(hashlib.sha256(salt + password.encode()).digest()).digest()
    return f"{base64.b64encode(digest).decode()} {base64.b64encode(salt).decode()}"


def security_json(admin_password: str, user: str, user_password: str) -> dict[str, Any]:
    """Two users: admin (everything) and the platform's user (everything but Solr's security); anonymous requests
    reach the health check only (the compose healthcheck), every other path answers 401."""
    return {
        "authentication": {
            "class": "solr.BasicAuthPlugin",
            "blockUnknown": False,  # the health check stays open; the "all" permission below refuses the rest
            "credentials": {ADMIN_USER: password_hash(admin_password), user: password_hash(user_password)},
        },
        "authorization": {
            "class": "solr.RuleBasedAuthorizationPlugin",
            "user-role": {ADMIN_USER: ["admin"], user: ["cbir"]},
            "permissions": [  # the first that matches a request decides
                # Solr's predefined "health" permission (/admin/info/health): a predefined one takes no path or
                # collection (Solr drops it with "path is not a valid key", and the health check would need a password)
                {"name": "health", "role": None},
                {"name": "security-read", "role": "admin"},
                {"name": "security-edit", "role": "admin"},
                {"name": "all", "role": ["admin", "cbir"]},
            ],
        },
    }
