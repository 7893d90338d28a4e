/* Every protocol op; dispatch.c maps names to these. */
#ifndef DMAHEAP_OPS_H
#define DMAHEAP_OPS_H

#include "buffer.h"
#include "request.h"

bool get_alloc_args(struct request *r, struct alloc_args *a);

void op_hello(struct request *r);
void op_list_heaps(struct request *r);
void op_heap_open(struct request *r);
void op_heap_close(struct request *r);
void op_alloc(struct request *r);
void op_buf_size(struct request *r);
void op_fdinfo(struct request *r);
void op_fd_flags(struct request *r);
void op_close(struct request *r);
void op_mmap(struct request *r);
void op_munmap(struct request *r);
void op_mremap(struct request *r);
void op_fill(struct request *r);
void op_verify(struct request *r);
void op_sync(struct request *r);
void op_set_name(struct request *r);
void op_ioctl_raw(struct request *r);
void op_export_sync_file(struct request *r);
void op_import_sync_file(struct request *r);
void op_probe(struct request *r);
void op_meminfo(struct request *r);
void op_read_file(struct request *r);
void op_kmemleak(struct request *r);
void op_kmsg(struct request *r);
void op_kmsg_drain(struct request *r);
void op_log_mark(struct request *r);
void op_count_fds(struct request *r);
void op_alloc_repeat(struct request *r);
void op_alloc_threads(struct request *r);
void op_exhaust(struct request *r);
void op_vgem_open(struct request *r);
void op_prime_import(struct request *r);
void op_gem_close(struct request *r);
void op_importer_check(struct request *r);
void op_bench(struct request *r);
void op_yardstick(struct request *r);
void op_pagemap(struct request *r);
void op_alloc_traced(struct request *r);
void op_klog(struct request *r);
void op_provoke(struct request *r);
void op_file_put(struct request *r);
void op_exec(struct request *r);

#endif
