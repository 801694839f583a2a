// Text for people: what a peer or a file name says, made safe to print on
// a terminal or in a log line. Control characters (C0, DEL, C1), bidi
// controls and invalid UTF-8 are shown as visible escapes, and a backslash
// as two, so every output maps back to exactly one input and nothing a peer
// sends can move the cursor, recolour the terminal, set its title, forge a
// log line or reorder the text around it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ferry {

/// Length of the valid (shortest-form, non-surrogate) UTF-8 sequence that
/// starts at s[i], or 0 when none does; its code point goes to
/// `code_point` when one is given.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i, unsigned* code_point = nullptr);

/// `s` with every unsafe character escaped: \n \r \t \\ as such, other C0
/// and DEL as \xHH, C1 controls, bidi controls (U+061C, U+200E, U+200F,
/// U+202A-U+202E, U+2066-U+2069), line and paragraph separators (U+2028,
/// U+2029) and invisible characters (U+200B, U+2060, U+FEFF) as \u{HHHH},
/// bytes that are not valid UTF-8 as \xHH. Printable UTF-8 passes
/// unchanged.
std::string printable(std::string_view s);

}  // namespace ferry
