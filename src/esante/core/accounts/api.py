"""JSON routes for accounts: who am I, my tokens, my password; account administration."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select

from esante.core import audit, policy
from esante.core.accounts import service
from esante.core.accounts.models import User
from esante.core.accounts.schemas import (
    PasswordChange,
    RoleOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
)
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(tags=["comptes / accounts"])


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id, email=user.email, display_name=user.display_name, rpps=user.rpps,
        totp_enabled=user.totp_confirmed, is_active=user.is_active,
        roles=[RoleOut(role=r.role, label=service.ROLE_LABELS_FR.get(r.role, r.role),
                       scope_kind=r.scope_kind, scope_ref=r.scope_ref) for r in user.roles],
    )


@router.get("/me", summary="Mon compte / my account")
def me(p: ApiPrincipal) -> UserOut:
    policy.authorize(p, "self.read")
    return user_out(p.user)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT,
             summary="Changer mon mot de passe")
def change_password(body: PasswordChange, p: ApiPrincipal, session: SessionDep) -> None:
    policy.authorize(p, "self.manage")
    service.change_password(session, actor=p.actor, user=p.user, current=body.current_password,
                            new=body.new_password)


@router.get("/tokens", summary="Mes jetons d'API")
def list_tokens(p: ApiPrincipal, session: SessionDep) -> list[TokenOut]:
    policy.authorize(p, "self.read")
    return [TokenOut.model_validate(t, from_attributes=True)
            for t in service.list_tokens(session, user=p.user)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED, summary="Créer un jeton d'API")
def create_token(body: TokenCreate, p: ApiPrincipal, session: SessionDep) -> TokenCreated:
    policy.authorize(p, "self.manage")
    if p.token_scopes is not None and not set(body.scopes) <= p.token_scopes:
        body.scopes = sorted(set(body.scopes) & p.token_scopes)  # never widen a token
    token, raw = service.create_token(session, actor=p.actor, user=p.user, name=body.name,
                                      scopes=list(body.scopes), days=body.days)
    return TokenCreated(**TokenOut.model_validate(token, from_attributes=True).model_dump(),
                        token=raw)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Révoquer un jeton")
def revoke_token(token_id: int, p: ApiPrincipal, session: SessionDep) -> None:
    policy.authorize(p, "self.manage")
    service.revoke_token(session, actor=p.actor, user=p.user, token_id=token_id)


@router.get("/users", summary="Comptes (administration)")
def list_users(p: ApiPrincipal, session: SessionDep, limit: int = 100,
               offset: int = 0) -> list[UserOut]:
    policy.authorize(p, "user.list")  # a read: a read-only token may list
    users = list(session.scalars(
        select(User).order_by(User.id).limit(min(limit, 500)).offset(offset)))
    audit.record(session, actor=p.actor, action="user.list", object_type="user",
                 object_id="*", details={"count": len(users), "offset": offset})
    return [user_out(u) for u in users]


@router.post("/users", status_code=status.HTTP_201_CREATED, summary="Créer un compte")
def create_user(body: UserCreate, p: ApiPrincipal, session: SessionDep) -> UserOut:
    policy.authorize(p, "user.manage")
    user = service.create_user(session, actor=p.actor, email=body.email, password=body.password,
                               display_name=body.display_name, rpps=body.rpps)
    for r in body.roles:
        service.grant_role(session, actor=p.actor, user=user, role=r.role,
                           scope_kind=r.scope_kind, scope_ref=r.scope_ref)
    return user_out(user)


@router.get("/users/{user_id}", summary="Un compte")
def get_user(user_id: int, p: ApiPrincipal, session: SessionDep) -> UserOut:
    user = service.get_user(session, user_id)
    policy.authorize(p, "user.read", user)
    if user.id != p.user.id:
        audit.record(session, actor=p.actor, action="user.read", object_type="user",
                     object_id=user.id, subject_user_id=user.id)
    return user_out(user)
