"""Admin screen: audit_log (being built)."""
from fastapi import APIRouter

router = APIRouter(prefix="/admin")
