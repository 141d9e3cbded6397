"""The audit log of admin actions, for admins."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from pollsvc.api import examples
from pollsvc.api.auth import ADMIN, require_role
from pollsvc.api.common import json_response
from pollsvc.api.docs import SECURED, documented
from pollsvc.extensions import db
from pollsvc.schemas import AuditPageSchema, AuditQuerySchema
from pollsvc.services import audit
from pollsvc.services.readmodel import iso

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Who changed which poll, when.")


@blp.route("/audit", methods=["GET"])
@require_role(*ADMIN)
@blp.arguments(AuditQuerySchema, location="query", as_kwargs=True)
@documented(blp, 200, AuditPageSchema, operation_id="listAuditEvents", errors=[401, 403, 422], **SECURED,
            example=examples.AUDIT_PAGE)
def audit_log(page: int, per_page: int, poll_id: int | None = None) -> Response:
    """List the audit log

    Admin actions, newest first: create, edit, open, close, unpublish, archive, void, restore.
    Admin key.
    """
    items, total = audit.list_events(db.session, poll_id=poll_id, page=page, per_page=per_page)
    return json_response({"items": [{**i, "at": iso(i["at"])} for i in items], "page": page,
                          "per_page": per_page, "total": total})
