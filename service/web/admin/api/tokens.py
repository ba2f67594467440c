"""Admin JSON API: tokens (being built)."""
from fastapi import APIRouter

router = APIRouter()
