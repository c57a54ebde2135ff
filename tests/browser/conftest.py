import os

import pytest
from django.apps import apps as django_apps
from playwright.sync_api import Page

from accounts.taxonomy import sync_taxonomy

# Playwright's sync API runs an event loop in this thread; Django's live_server
# fixture and ORM calls from the test are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium_path):
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path,
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


@pytest.fixture
def screenshot(page):
    """Save a screenshot for the README when SCREENSHOT_DIR is set; otherwise do nothing."""
    directory = os.environ.get("SCREENSHOT_DIR")

    def take(name: str, on: Page | None = None) -> None:
        if directory:
            (on or page).screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)

    return take


@pytest.fixture(autouse=True)
def taxonomy(transactional_db):
    """Browser tests are transactional, and the flush after each one empties the tables
    the data migrations filled: put the specialties, interests and languages back."""
    sync_taxonomy(django_apps)
