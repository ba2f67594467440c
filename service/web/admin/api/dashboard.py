"""Admin JSON API: dashboard (being built)."""
from fastapi import APIRouter

router = APIRouter()
