# -*- Python -*- lit configuration for stepc.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "STEPC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.stepc_obj_root, "test")
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%stepc_src_root", config.stepc_src_root))
config.substitutions.append(("%stepc_version", config.stepc_version))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.stepc_tools_dir, config.llvm_tools_dir]
tools = ["stepc-opt"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
