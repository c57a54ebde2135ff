import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Profile
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


PRIVATE_ENDPOINTS = [
    ("get", "api:me", {}),
    ("patch", "api:me", {}),
    ("get", "api:my_profile", {}),
    ("patch", "api:my_profile", {}),
    ("get", "api:my_demographics", {}),
    ("put", "api:my_demographics", {}),
    ("get", "api:specialties", {}),
    ("get", "api:interests", {}),
    ("get", "api:languages", {}),
    ("get", "api:institutions", {}),
]


@pytest.mark.parametrize(("method", "name", "kwargs"), PRIVATE_ENDPOINTS)
def test_every_endpoint_denies_anonymous_callers_with_the_error_shape(method, name, kwargs):
    response = getattr(api(), method)(reverse(name, kwargs=kwargs), {}, format="json")
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"message", "fields"}
    assert "credentials" in response.json()["message"]


def test_mentor_detail_denies_anonymous_callers(physician):
    response = api().get(reverse("api:mentor", args=[physician.profile.pk]))
    assert response.status_code in (401, 403)


def test_me_returns_who_i_am_with_completeness(student):
    data = api(student).get(reverse("api:me")).json()
    assert data["email"] == "student@test.example"
    assert data["role"] == "student"
    assert data["can_be_mentee"] is True and data["can_mentor"] is False
    assert 0 < data["profile_completeness"] < 100
    assert "research interests" in data["missing"]


def test_me_update_changes_only_the_name(student):
    response = api(student).patch(
        reverse("api:me"),
        {"full_name": "New Name", "role": "physician", "is_staff": True},
        format="json",
    )
    assert response.status_code == 200
    student.refresh_from_db()
    assert student.full_name == "New Name"
    assert student.role == "student"
    assert student.is_staff is False


def test_profile_patch_updates_own_profile(student):
    response = api(student).patch(
        reverse("api:my_profile"),
        {
            "stage": 3,
            "specialties": ["orthopaedic-surgery", "sports-medicine"],
            "interests": ["sports-medicine-research"],
            "languages": ["en", "es"],
            "goals": {"research": 3, "residency_application": 2},
            "meeting_modes": ["video"],
            "mentor_stage_preference": "senior",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["stage"] == 3 and data["stage_label"] == "MS3"
    assert sorted(data["specialties"]) == ["orthopaedic-surgery", "sports-medicine"]
    assert data["meeting_modes"] == ["video"]
    profile = Profile.objects.get(user=student)
    assert profile.goals == {"research": 3, "residency_application": 2}
    assert sorted(profile.languages.values_list("code", flat=True)) == ["en", "es"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"specialties": ["astrology"]}, "specialties"),
        ({"stage": 15}, "stage"),
        ({"capacity": 4}, "capacity"),
        ({"goals": {"fame": 3}}, "goals"),
        ({"timezone": "Nowhere/Land"}, "timezone"),
        ({"institution": 999999}, "institution"),
    ],
)
def test_profile_patch_rejects_bad_input_with_one_error_shape(student, payload, field):
    before = Profile.objects.get(user=student)
    response = api(student).patch(reverse("api:my_profile"), payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"message", "fields"}
    assert field in body["fields"]
    after = Profile.objects.get(user=student)
    assert (after.stage, after.capacity, after.timezone) == (
        before.stage,
        before.capacity,
        before.timezone,
    )


def test_malformed_json_is_a_clear_400(student):
    response = api(student).generic(
        "PATCH", reverse("api:my_profile"), "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["message"]


def test_demographics_are_private_to_their_owner(student):
    response = api(student).put(
        reverse("api:my_demographics"),
        {
            "gender": "woman",
            "ethnicities": ["black"],
            "wants_same_ethnicity": True,
        },
        format="json",
    )
    assert response.status_code == 200
    data = api(student).get(reverse("api:my_demographics")).json()
    assert data["ethnicities"] == ["black"]
    assert data["wants_same_ethnicity"] is True
    assert data["ethnicity_opted_in_at"] is not None


def test_public_mentor_profile_has_no_private_fields(student, physician):
    response = api(student).get(reverse("api:mentor", args=[physician.profile.pk]))
    assert response.status_code == 200
    data = response.json()
    assert data["display_name"] == "Dr. Paul Physician"
    for private in (
        "email",
        "gender",
        "ethnicities",
        "goals",
        "timezone",
        "demographics",
        "conflicts",
        "preferred_mentee_stages",
    ):
        assert private not in data


def test_mentor_detail_is_404_for_students_and_unknown_ids(student, other_student):
    client = api(student)
    for pk in (other_student.profile.pk, 999999):
        response = client.get(reverse("api:mentor", args=[pk]))
        assert response.status_code == 404
        assert set(response.json()) == {"message", "fields"}


def test_token_login_returns_a_token_that_authenticates(student):
    response = APIClient().post(
        reverse("api:token"), {"email": student.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=student).key == token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(reverse("api:me")).json()["email"] == student.email


def test_token_login_with_a_wrong_password_is_a_400_without_a_token(student):
    response = APIClient().post(
        reverse("api:token"), {"email": student.email, "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Email or password is incorrect."
    assert not Token.objects.filter(user=student).exists()


def test_reference_lists_are_complete(student):
    client = api(student)
    specialties = client.get(reverse("api:specialties")).json()
    assert len(specialties) >= 40
    ortho = next(s for s in specialties if s["slug"] == "orthopaedic-surgery")
    assert "sports-medicine" in ortho["related"]
    interests = client.get(reverse("api:interests")).json()
    assert {"global-health", "health-policy", "informatics"} <= {i["slug"] for i in interests}


def test_openapi_schema_lists_the_endpoints_and_error_responses(client):
    response = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json() if response["Content-Type"].startswith("application/json") else None
    if schema is None:
        import yaml

        schema = yaml.safe_load(response.content)
    assert "/api/v1/me/profile/" in schema["paths"]
    patch = schema["paths"]["/api/v1/me/profile/"]["patch"]
    assert {"200", "400", "401", "403"} <= set(patch["responses"])


def test_openapi_schema_generates_without_warnings_and_validates(tmp_path):
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(out))
    assert "/api/v1/recommendations/" in out.read_text()
