"""Pieces every provider emulator shares: fault injection, signed-notify delivery, control routes, serving."""
