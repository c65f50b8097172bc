# -*- coding: utf-8 -*-
# Copyright: swarmnet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nft's own library (libnftables(3), in Debian's libnftables1, which the nftables package needs) in
this process: one nft command without starting the nft program.

A command runs in the network namespace of the calling thread, as a child process would: each
command gets a context of its own, made and freed around it. Debian's python3-nftables wraps the
same calls; it is one more package on every host and in the VM image for the five calls used here.
"""

from __future__ import annotations

import ctypes

SONAME = "libnftables.so.1"
NFT_CTX_DEFAULT = 0
NFT_CTX_OUTPUT_JSON = 1 << 4        # enum nft_ctx_output_flags in <nftables/libnftables.h>

_library = []                        # [the loaded library], or [None] where it does not load


def _load():
    if not _library:
        try:
            lib = ctypes.CDLL(SONAME)
        except OSError:
            lib = None
        else:
            lib.nft_ctx_new.restype = ctypes.c_void_p
            lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
            lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
            lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
            lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
            lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
            lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
            lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        _library.append(lib)
    return _library[0]


def available():
    return _load() is not None


def run(command, json_output=False):
    """(return code, output, error text) of one command, as `nft [-j] COMMAND` (or `nft -f -` given the
    script) would give them."""
    lib = _load()
    ctx = lib.nft_ctx_new(NFT_CTX_DEFAULT)
    if not ctx:
        raise MemoryError("nft_ctx_new failed")
    try:
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)
        if json_output:
            lib.nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON)
        rc = lib.nft_run_cmd_from_buffer(ctx, command.encode())
        output = lib.nft_ctx_get_output_buffer(ctx) or b""
        error = lib.nft_ctx_get_error_buffer(ctx) or b""
        return rc, output.decode(), error.decode()
    finally:
        lib.nft_ctx_free(ctx)
