"""Admin JSON API: lists (being built)."""
from fastapi import APIRouter

router = APIRouter()
