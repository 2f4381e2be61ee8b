"""Ligatures and fullwidth characters read as the plain letters and digits they stand for."""

import unicodedata

from tokenizers import normalizers
from transformers import PreTrainedTokenizerFast

# The Latin ligatures (U+FB00-FB06: "ﬁ", "ﬂ"... as the text layers of many PDFs hold them) and fullwidth
# ASCII (U+FF01-FF5E), each mapped to what NFKC makes of it. Not all of NFKC: that also reads "10⁶" as
# "106" and "km²" as "km2", and cost F1 on COVID-QA (BENCHMARKS.md).
PLAIN_FORMS = {
    chr(code): unicodedata.normalize("NFKC", chr(code)) for code in (*range(0xFB00, 0xFB07), *range(0xFF01, 0xFF5F))
}
_PLAIN_TABLE = str.maketrans(PLAIN_FORMS)


def plain_forms(text: str) -> str:
    """`text` with its ligatures and fullwidth characters written out: "ﬁne" -> "fine", "５００" -> "500"."""
    return text.translate(_PLAIN_TABLE)


def read_plain_forms(tokenizer: PreTrainedTokenizerFast) -> PreTrainedTokenizerFast:
    """Make `tokenizer` read ligatures and fullwidth characters as `plain_forms` writes them, in place.

    Its offsets still point into the text as written, so spans cut from them slice it. A tokenizer
    that already reads them so is left as it is.

    Args:
        tokenizer: a fast (Rust-backed) tokenizer.

    Returns:
        The same tokenizer.
    """
    backend = tokenizer.backend_tokenizer
    current = backend.normalizer
    if current is not None and current.normalize_str("\ufb01") == "fi":
        return tokenizer
    replacements = [normalizers.Replace(form, plain) for form, plain in PLAIN_FORMS.items()]
    backend.normalizer = normalizers.Sequence([*replacements, *([current] if current else [])])
    return tokenizer
