{
  "targets": [
    {
      "target_name": "sluice_fastparse",
      "sources": ["native/fastparse.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
