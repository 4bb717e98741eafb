// The translation unit that builds the shared precompiled header (cmake/owcore.cmake, OWCORE_PCH).
