// SPDX-License-Identifier: MIT
/* AML encodings checked against ACPI 6.x section 20.2 and 6.4. */
#include <string.h>

#include "arch/x86/aml.h"
#include "test.h"

static int bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b,
		    size_t blen)
{
	if (alen != blen || memcmp(a, b, alen)) {
		printf("  got:");
		for (size_t i = 0; i < alen && i < 16; i++)
			printf(" %02x", a[i]);
		printf("\n");
		return 0;
	}
	return 1;
}

#define CHECK_BYTES(buf, len, ...)                                        \
	do {                                                              \
		static const uint8_t want_[] = { __VA_ARGS__ };           \
		CHECK(bytes_eq(buf, len, want_, sizeof(want_)));          \
	} while (0)

static void test_pkglen_boundaries(void)
{
	uint8_t b[4];

	/* 20.2.4: one byte up to 63, then a 4-bit lead plus 1..3 bytes */
	CHECK_BYTES(b, aml_pkglen_encode(b, 0x3f), 0x3f);
	CHECK_BYTES(b, aml_pkglen_encode(b, 0x40), 0x40, 0x04);
	CHECK_BYTES(b, aml_pkglen_encode(b, 0xfff), 0x4f, 0xff);
	CHECK_BYTES(b, aml_pkglen_encode(b, 0x1000), 0x80, 0x00, 0x01);
	CHECK_BYTES(b, aml_pkglen_encode(b, 0xfffff), 0x8f, 0xff, 0xff);
	CHECK_BYTES(b, aml_pkglen_encode(b, 0x100000), 0xc0, 0x00, 0x00, 0x01);
	CHECK_BYTES(b, aml_pkglen_encode(b, 0xfffffff), 0xcf, 0xff, 0xff,
		    0xff);
	CHECK_EQ(aml_pkglen_encode(b, 0x10000000), 0);
}

/* A Package of n Zero elements: body is NumElements + n bytes. */
static size_t package_header(size_t n, uint8_t *hdr)
{
	struct aml a;
	size_t len;

	aml_init(&a);
	aml_package_begin(&a, 0);
	for (size_t i = 0; i < n; i++)
		aml_integer(&a, 0);
	aml_end(&a);
	CHECK_EQ(aml_error(&a), 0);
	CHECK_EQ(a.buf[0], 0x12);
	len = a.len;
	memcpy(hdr, a.buf + 1, 4);
	aml_free(&a);
	return len;
}

static void test_pkglen_backpatch(void)
{
	uint8_t h[4];

	/* 61 zeros + NumElements = 62 body, +1 PkgLength byte = 63 */
	CHECK_EQ(package_header(61, h), 1 + 1 + 62);
	CHECK_EQ(h[0], 0x3f);
	/* 62 + 1 = 63 body needs two length bytes: 65 */
	CHECK_EQ(package_header(62, h), 1 + 2 + 63);
	CHECK(h[0] == 0x41 && h[1] == 0x04);
	/* 4093 body + 2 = 4095 still fits two bytes */
	CHECK_EQ(package_header(4092, h), 1 + 2 + 4093);
	CHECK(h[0] == 0x4f && h[1] == 0xff);
	/* 4094 body + 2 = 4096 does not: three bytes, 4097 */
	CHECK_EQ(package_header(4093, h), 1 + 3 + 4094);
	CHECK(h[0] == 0x81 && h[1] == 0x00 && h[2] == 0x01);
}

static void test_integers(void)
{
	struct aml a;

	aml_init(&a);
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 0x12);
	aml_integer(&a, 0x1234);
	aml_integer(&a, 0x12345678);
	aml_integer(&a, 0x123456789aULL);
	aml_integer(&a, UINT64_MAX);
	CHECK_BYTES(a.buf, a.len, 0x00, 0x01, 0x0a, 0x12, 0x0b, 0x34, 0x12,
		    0x0c, 0x78, 0x56, 0x34, 0x12, 0x0e, 0x9a, 0x78, 0x56,
		    0x34, 0x12, 0, 0, 0, 0xff);
	aml_free(&a);
}

static void test_names(void)
{
	struct aml a;

	aml_init(&a);
	aml_name_string(&a, "\\_SB.PCI0");
	CHECK_BYTES(a.buf, a.len, '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C',
		    'I', '0');
	aml_free(&a);

	aml_init(&a);
	aml_name_string(&a, "^A.B.C");
	CHECK_BYTES(a.buf, a.len, '^', 0x2f, 3, 'A', '_', '_', '_', 'B', '_',
		    '_', '_', 'C', '_', '_', '_');
	aml_free(&a);

	aml_init(&a);
	aml_name_string(&a, "\\");
	CHECK_BYTES(a.buf, a.len, '\\', 0x00);
	aml_free(&a);

	/* invalid: lower case, too long, empty segment */
	aml_init(&a);
	aml_name_string(&a, "pci0");
	CHECK(aml_error(&a) < 0);
	aml_free(&a);
	aml_init(&a);
	aml_name_string(&a, "ABCDE");
	CHECK(aml_error(&a) < 0);
	aml_free(&a);
	aml_init(&a);
	aml_name_string(&a, "A..B");
	CHECK(aml_error(&a) < 0);
	aml_free(&a);
}

static void test_eisaid_and_string(void)
{
	struct aml a;

	CHECK_EQ(aml_eisaid_value("PNP0A03"), 0x030ad041);
	CHECK_EQ(aml_eisaid_value("PNP0C0C"), 0x0c0cd041);
	CHECK_EQ(aml_eisaid_value("pnp0a03"), 0);
	aml_init(&a);
	aml_name_str(&a, "_HID", "QEMU0001");
	CHECK_BYTES(a.buf, a.len, 0x08, '_', 'H', 'I', 'D', 0x0d, 'Q', 'E',
		    'M', 'U', '0', '0', '0', '1', 0);
	aml_free(&a);
}

static void test_device_method(void)
{
	struct aml a;

	aml_init(&a);
	aml_device_begin(&a, "PWRB");
	aml_method_begin(&a, "_STA", 0, false);
	aml_return(&a);
	aml_integer(&a, 0xf);
	aml_end(&a);
	aml_end(&a);
	CHECK_EQ(aml_error(&a), 0);
	CHECK_BYTES(a.buf, a.len, 0x5b, 0x82, 0x0f, 'P', 'W', 'R', 'B', 0x14,
		    0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f);
	aml_free(&a);

	/* unbalanced blocks are errors */
	aml_init(&a);
	aml_scope_begin(&a, "\\_SB");
	CHECK(aml_error(&a) < 0);
	aml_end(&a);
	CHECK_EQ(aml_error(&a), 0);
	aml_end(&a);
	CHECK(aml_error(&a) < 0);
	aml_free(&a);
}

static void test_resource_template(void)
{
	struct aml a;
	uint8_t sum = 0;

	aml_init(&a);
	aml_rt_begin(&a);
	aml_rt_io(&a, 0x3f8, 0x3f8, 1, 8);
	aml_rt_irq_noflags(&a, 4);
	aml_rt_end(&a);
	CHECK_EQ(aml_error(&a), 0);
	/* Buffer(PkgLength=16, BufferSize=13) { IO, IRQ, end tag } */
	CHECK_BYTES(a.buf, a.len, 0x11, 0x10, 0x0a, 0x0d,
		    0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
		    0x22, 0x10, 0x00, 0x79, 0x0e);
	for (size_t i = 4; i < a.len; i++)
		sum += a.buf[i];
	CHECK_EQ(sum, 0);
	aml_free(&a);

	/* descriptor sizes: word 16, dword 26, mem32 12, ext irq 9 */
	aml_init(&a);
	aml_rt_begin(&a);
	aml_rt_word_bus(&a, 0, 0xff);
	aml_rt_word_io(&a, 0, 0xcf7);
	aml_rt_dword_mem(&a, 0xc0000000, 0xdfffffff, false);
	aml_rt_mem32_fixed(&a, 0xe0000000, 0x100000, true);
	aml_rt_interrupt(&a, 9, AML_IRQ_EDGE);
	aml_rt_end(&a);
	CHECK_EQ(aml_error(&a), 0);
	/* 81 bytes: a two-byte PkgLength, then BytePrefix 81 */
	CHECK_EQ(a.buf[3], 0x0a);
	CHECK_EQ(a.buf[4], 16 + 16 + 26 + 12 + 9 + 2);
	CHECK_EQ(a.len, 5 + a.buf[4]);
	CHECK_EQ(a.buf[5], 0x88);
	CHECK_EQ(a.buf[5 + 3], 2);			/* bus number space */
	CHECK_EQ(a.buf[5 + 14] | a.buf[5 + 15] << 8, 0x100);	/* length */
	aml_free(&a);

	/* descriptors outside a template are errors */
	aml_init(&a);
	aml_rt_irq_noflags(&a, 4);
	CHECK(aml_error(&a) < 0);
	aml_free(&a);
}

int main(void)
{
	RUN(test_pkglen_boundaries);
	RUN(test_pkglen_backpatch);
	RUN(test_integers);
	RUN(test_names);
	RUN(test_eisaid_and_string);
	RUN(test_device_method);
	RUN(test_resource_template);
	return test_summary();
}
