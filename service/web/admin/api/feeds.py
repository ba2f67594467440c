"""Admin JSON API: feeds (being built)."""
from fastapi import APIRouter

router = APIRouter()
