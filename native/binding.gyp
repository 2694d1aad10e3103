{
  # nodeward_bpf (the eBPF exec source) is built only when native/build.mjs found clang and
  # libbpf and compiled native/bpf/exec.bpf.c: it passes --nodeward_bpf=1.
  "variables": {
    "nodeward_bpf%": 0
  },
  "targets": [
    {
      "target_name": "nodeward_proc",
      "sources": ["src/proc_events.cc", "src/fd_sockets.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fno-exceptions"]
    }
  ],
  "conditions": [
    ["nodeward_bpf==1", {
      "targets": [
        {
          "target_name": "nodeward_bpf",
          "sources": ["src/bpf_exec.cc"],
          "defines": ["NAPI_VERSION=8"],
          "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fno-exceptions"],
          "libraries": ["-lbpf", "-lelf", "-lz"]
        }
      ]
    }]
  ]
}
