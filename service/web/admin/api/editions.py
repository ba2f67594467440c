"""Admin JSON API: editions (being built)."""
from fastapi import APIRouter

router = APIRouter()
