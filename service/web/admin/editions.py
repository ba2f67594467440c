"""Admin screen: editions (being built)."""
from fastapi import APIRouter

router = APIRouter(prefix="/admin")
