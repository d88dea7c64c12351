{
  "targets": [
    {
      "target_name": "distil",
      "sources": [
        "native/addon.cc",
        "native/alloc.cc",
        "native/signals.cc",
        "native/check.cc",
        "native/lowp.cc",
        "native/matmul.cc",
        "native/linear_packed.cc",
        "native/attention.cc",
        "native/layers.cc",
        "native/losses.cc",
        "native/optim.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-fopenmp", "-march=native"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl", "-lgomp"],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8"]
    }
  ]
}
