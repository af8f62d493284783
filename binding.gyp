{
  "targets": [
    {
      "target_name": "sluice_fastparse",
      "sources": ["native/fastparse_core.c", "native/relay_core.c", "native/binding.c"],
      "include_dirs": ["native"],
      "defines": ["NDEBUG"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "sluice_udp",
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/udp_core.c", "native/udp_socket.c", "native/udp_binding.c"],
          "include_dirs": ["native"],
          "defines": ["NDEBUG", "_GNU_SOURCE"],
          "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
        }]
      ]
    }
  ]
}
