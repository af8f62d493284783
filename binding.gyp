{
  "targets": [
    {
      "target_name": "sluice_fastparse",
      "sources": ["native/fastparse_core.c", "native/binding.c"],
      "include_dirs": ["native"],
      "defines": ["NDEBUG"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
