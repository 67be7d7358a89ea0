// Translation unit that builds the precompiled header (cmake/pch.h).
