"""Admin screen: stories (being built)."""
from fastapi import APIRouter

router = APIRouter(prefix="/admin")
