/* SPDX-License-Identifier: MIT */
/*
 * Secrets by id, as QEMU's "--object secret,id=ID,file=PATH": the
 * passphrases of encrypted images are named by id (encrypt.key-secret=ID)
 * so they never appear on a command line. The bytes are taken verbatim
 * (format=raw; a trailing newline in the file is part of the secret, as in
 * QEMU) or decoded (format=base64).
 */
#ifndef CVISOR_CLI_SECRET_H
#define CVISOR_CLI_SECRET_H

#include <stddef.h>
#include <stdint.h>

/* Adds "secret,id=ID,file=PATH|data=TEXT[,format=raw|base64]". */
int secret_object_add(const char *spec, char *err, size_t errlen);
/* The secret's bytes, or NULL if no secret has that id. */
const uint8_t *secret_get(const char *id, size_t *len);
/* Reads a whole key file (at most 64 KiB); *data is freed by secret_free. */
int secret_read_file(const char *path, uint8_t **data, size_t *len,
		     char *err, size_t errlen);
void secret_free(uint8_t *data, size_t len);
/* Wipes and forgets every secret. */
void secret_clear_all(void);

#endif
