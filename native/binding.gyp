{
  "targets": [
    {
      "target_name": "nodeward_proc",
      "sources": ["src/proc_events.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fno-exceptions"]
    }
  ]
}
