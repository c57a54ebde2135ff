"""Local development: `make run`. Works with no environment at all."""

from .base import *  # noqa: F403
from .env import env_bool

DEBUG = env_bool("DEBUG", True)
