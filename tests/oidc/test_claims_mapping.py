"""Claims to users: names, email matching, staff flag and project roles from the groups claim."""

import pytest
from django.test import RequestFactory, override_settings

from accounts.models import Membership, OidcIdentity, Role, User
from accounts.oidc.backend import OIDCBackend
from accounts.services import membership_set, project_create

MAPPING = override_settings(
    D2D_OIDC_GROUPS_CLAIM="groups",
    D2D_OIDC_STAFF_GROUPS=["d2d-staff"],
    D2D_OIDC_SUPERUSER_GROUPS=[],
    D2D_OIDC_PROJECT_ROLES=["alpha-viewers=alpha:viewer", "alpha-editors=alpha:editor", "alpha-owners=alpha:owner",
                            "gamma-editors=gamma:editor"],
)


def signed_in(claims: dict, *, from_sign_in: bool = True) -> User:
    backend = OIDCBackend()
    backend.claims_from_sign_in = from_sign_in
    users = backend.filter_users_by_claims(claims)
    assert len(users) <= 1
    return backend.update_user(users[0], claims) if users else backend.create_user(claims)


@pytest.fixture
def alpha(db):
    return project_create(project_id="alpha", name="Alpha")


def test_it_names_users_after_preferred_username_else_sub(db):
    assert signed_in({"sub": "1", "preferred_username": "ann", "email": "ann@corp.example"}).username == "ann"
    assert signed_in({"sub": "auth0|64f1 x", "email": "sub@corp.example"}).username == "auth0-64f1-x"


def test_it_does_not_hand_a_local_password_account_to_a_provider_user_of_the_same_name(db, make_user):
    local = make_user("alice")
    user = signed_in({"sub": "9", "preferred_username": "alice", "email": "other-alice@corp.example"})
    assert user.pk != local.pk and user.username.startswith("alice-")
    local.refresh_from_db()
    assert local.email == "alice@example.com"


def test_it_finds_its_sso_user_again_after_the_email_changes(db):
    first = signed_in({"sub": "7", "preferred_username": "sam", "email": "sam@old.example"})
    again = signed_in({"sub": "7", "preferred_username": "sam", "email": "sam@new.example"})
    assert again.pk == first.pk and again.email == "sam@new.example"


def test_it_binds_the_subject_at_first_sign_in_and_matches_on_it_afterwards(db, make_user):
    local = make_user("kim")  # made in the admin before SSO, linked by its verified email
    user = signed_in({"sub": "k-1", "preferred_username": "kim", "email": "kim@example.com"})
    assert user.pk == local.pk
    assert OidcIdentity.objects.get(subject="k-1").user == local
    renamed = signed_in({"sub": "k-1", "preferred_username": "kimberly", "email": "kim@elsewhere.example"})
    assert renamed.pk == local.pk and OidcIdentity.objects.count() == 1


def test_it_does_not_hand_a_bound_user_to_another_subject_with_a_reassigned_email_or_name(db):
    first = signed_in({"sub": "old-1", "preferred_username": "lee", "email": "lee@corp.example"})
    # The provider gave the address and the name to a new person after the first one left.
    newcomer = signed_in({"sub": "new-2", "preferred_username": "lee", "email": "lee@corp.example"})
    assert newcomer.pk != first.pk
    assert newcomer.email == f"{newcomer.username}@sso.invalid", "the address stays with the first account"
    assert sorted(OidcIdentity.objects.values_list("subject", "user_id")) == [("new-2", newcomer.pk), ("old-1", first.pk)]
    assert signed_in({"sub": "old-1", "email": "lee@corp.example"}).pk == first.pk


def test_it_gives_users_without_an_email_a_unique_placeholder(db):
    one = signed_in({"sub": "a1", "preferred_username": "one"})
    two = signed_in({"sub": "a2", "preferred_username": "two"})
    assert (one.email, two.email) == ("one@sso.invalid", "two@sso.invalid")


def test_it_does_not_match_accounts_on_an_unverified_email(db, make_user):
    local = make_user("victim")
    claims = {"sub": "x", "preferred_username": "mallory", "email": "victim@example.com", "email_verified": "false"}
    user = signed_in(claims)
    assert user.pk != local.pk and user.email == "mallory@sso.invalid"


@MAPPING
def test_it_syncs_staff_and_managed_memberships_both_ways(alpha, make_user):
    beta = project_create(project_id="beta", name="Beta")
    groups = ["d2d-staff", "alpha-viewers", "alpha-editors"]
    user = signed_in({"sub": "s", "preferred_username": "sid", "groups": groups})
    membership_set(project=beta, user=user, role=Role.VIEWER)  # granted by hand, not by the mapping
    assert user.is_staff
    assert Membership.objects.get(user=user, project=alpha).role == Role.EDITOR  # the highest of the two groups

    user = signed_in({"sub": "s", "preferred_username": "sid", "groups": "alpha-viewers"})
    assert not user.is_staff and Membership.objects.get(user=user, project=alpha).role == Role.VIEWER

    user = signed_in({"sub": "s", "preferred_username": "sid"})  # no groups claim: no groups
    assert not Membership.objects.filter(user=user, project=alpha).exists()
    assert Membership.objects.get(user=user, project=beta).role == Role.VIEWER


@MAPPING
def test_it_keeps_roles_when_a_bearer_tokens_userinfo_has_no_groups_claim(alpha):
    user = signed_in({"sub": "z", "preferred_username": "zoe", "groups": ["d2d-staff", "alpha-editors"]})
    user = signed_in({"sub": "z", "preferred_username": "zoe"}, from_sign_in=False)  # Azure AD's userinfo, say
    assert user.is_staff and Membership.objects.get(user=user, project=alpha).role == Role.EDITOR
    user = signed_in({"sub": "z", "preferred_username": "zoe", "groups": []}, from_sign_in=False)
    assert not user.is_staff and not Membership.objects.filter(user=user, project=alpha).exists()


@MAPPING
def test_it_keeps_the_last_owner_of_a_project(alpha):
    user = signed_in({"sub": "o", "preferred_username": "olga", "groups": ["alpha-owners"]})
    assert Membership.objects.get(user=user, project=alpha).role == Role.OWNER
    signed_in({"sub": "o", "preferred_username": "olga", "groups": []})
    assert Membership.objects.get(user=user, project=alpha).role == Role.OWNER


@MAPPING
def test_it_skips_a_mapping_to_a_project_that_does_not_exist(alpha):
    user = signed_in({"sub": "g", "preferred_username": "gil", "groups": ["gamma-editors", "alpha-editors"]})
    assert list(user.memberships.values_list("project_id", "role")) == [("alpha", Role.EDITOR)]


@override_settings(D2D_OIDC_STAFF_GROUPS=[], D2D_OIDC_PROJECT_ROLES=[])
def test_it_leaves_staff_alone_when_no_groups_are_mapped(db, make_user):
    admin = make_user("root", is_staff=True)
    user = signed_in({"sub": "r", "preferred_username": "root-sso", "email": "root@example.com", "groups": []})
    assert user.pk == admin.pk and user.is_staff


def test_it_does_not_exchange_a_code_found_on_a_password_login(rf: RequestFactory, db):
    request = rf.post("/login?code=stolen&state=guess", {"username": "a", "password": "b"})
    assert OIDCBackend().authenticate(request, username="a", password="b") is None


@override_settings(D2D_OIDC_STAFF_GROUPS=["d2d-staff"], D2D_OIDC_SUPERUSER_GROUPS=["d2d-root"],
                   D2D_OIDC_PROJECT_ROLES=[])
def test_it_makes_superuser_groups_staff_too(db):
    user = signed_in({"sub": "q", "preferred_username": "quinn", "groups": ["d2d-root"]})
    assert user.is_superuser and user.is_staff
    user = signed_in({"sub": "q", "preferred_username": "quinn", "groups": ["d2d-staff"]})
    assert user.is_staff and not user.is_superuser


@MAPPING
@pytest.mark.parametrize(
    ("value", "groups"),
    [
        ("d2d-staff alpha-editors", {"d2d-staff", "alpha-editors"}),
        ("d2d-staff,alpha-editors", {"d2d-staff", "alpha-editors"}),
        (["d2d-staff", 42, {"name": "x"}, None, True], {"d2d-staff", "42"}),
        (42, {"42"}),
        ({"d2d-staff": {"id": "1"}}, {"d2d-staff"}),
        (True, set()),
    ],
)
def test_it_reads_whatever_shape_the_groups_claim_has_without_failing(alpha, value, groups):
    from accounts.oidc.backend import claim_groups

    assert claim_groups({"groups": value}) == groups
    user = signed_in({"sub": f"shape-{value!r}", "preferred_username": "shape", "groups": value})
    assert user.is_staff is ("d2d-staff" in groups)


def test_it_refuses_a_subject_it_could_not_store_whole(db):
    assert not OIDCBackend().verify_claims({"sub": "s" * 256, "preferred_username": "long"})
    assert OIDCBackend().verify_claims({"sub": "s" * 255, "preferred_username": "long"})
    assert not OIDCBackend().verify_claims({"preferred_username": "nosub"})


def test_a_fixed_provider_key_keeps_bindings_when_the_issuer_url_changes(db, settings):
    settings.D2D_OIDC_PROVIDER_KEY = "corp-sso"
    settings.OIDC_OP_ISSUER = "https://old-sso.corp.example"
    first = signed_in({"sub": "m-1", "preferred_username": "mo", "email": "mo@corp.example"})
    settings.OIDC_OP_ISSUER = "https://sso.corp.example/realms/main"
    again = signed_in({"sub": "m-1", "preferred_username": "mo", "email": "mo@new.example"})
    assert again.pk == first.pk and OidcIdentity.objects.get().issuer == "corp-sso"
