"""Admin JSON API: subscribers (being built)."""
from fastapi import APIRouter

router = APIRouter()
