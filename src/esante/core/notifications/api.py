"""JSON routes for notifications."""

from __future__ import annotations

from fastapi import APIRouter, status

from esante.core import audit, policy
from esante.core.notifications import service
from esante.core.notifications.schemas import NotificationOut, NotificationSend
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(tags=["notifications"])


@router.get("/notifications", summary="Mes notifications")
def mine(p: ApiPrincipal, session: SessionDep, unread: bool = False) -> list[NotificationOut]:
    policy.authorize(p, "self.read")
    return [NotificationOut.model_validate(n, from_attributes=True)
            for n in service.list_for(session, user=p.user, unread_only=unread)]


@router.post("/notifications/{notification_id}/read", summary="Marquer comme lue")
def read(notification_id: int, p: ApiPrincipal, session: SessionDep) -> NotificationOut:
    policy.authorize(p, "self.manage")
    note = service.mark_read(session, user=p.user, notification_id=notification_id)
    return NotificationOut.model_validate(note, from_attributes=True)


@router.post("/notifications", status_code=status.HTTP_201_CREATED,
             summary="Notifier les titulaires d'un rôle")
def send(body: NotificationSend, p: ApiPrincipal, session: SessionDep) -> dict[str, int]:
    policy.authorize(p, "notification.send")
    count = service.notify_role(session, role=body.role, scope_kind=body.scope_kind,
                                scope_ref=body.scope_ref, title=body.title, body=body.body,
                                link=body.link, level=body.level)
    audit.record(session, actor=p.actor, action="notification.send", object_type="role",
                 object_id=body.role, details={"recipients": count})
    return {"recipients": count}
