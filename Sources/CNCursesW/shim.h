#ifndef CNCURSESW_SHIM_H
#define CNCURSESW_SHIM_H

/* Must come before curses.h is first parsed, or the wide API is not declared. */
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif

#include <locale.h>
#include <wchar.h>
#include <ncursesw/curses.h>

/* glibc hides wcwidth() behind _XOPEN_SOURCE, and <wchar.h> belongs to the
   prebuilt Glibc module, so a #define here cannot reveal it. */
extern int wcwidth(wchar_t c);

/* C globals -> functions (Swift 6 rejects direct use of mutable C globals). */
static inline WINDOW *kc_stdscr(void) { return stdscr; }
static inline int kc_lines(void) { return LINES; }
static inline int kc_cols(void) { return COLS; }
static inline int kc_colors(void) { return COLORS; }
static inline int kc_color_pairs(void) { return COLOR_PAIRS; }
static inline void kc_set_escdelay(int ms) { set_escdelay(ms); }

/* Attribute / key / mouse macros that Swift cannot import. */
static inline attr_t kc_a_normal(void) { return A_NORMAL; }
static inline attr_t kc_a_bold(void) { return A_BOLD; }
static inline attr_t kc_a_dim(void) { return A_DIM; }
static inline attr_t kc_a_reverse(void) { return A_REVERSE; }
static inline attr_t kc_a_underline(void) { return A_UNDERLINE; }
static inline attr_t kc_color_pair(short pair) { return (attr_t)COLOR_PAIR(pair); }
static inline int kc_key_f(int n) { return KEY_F(n); }
static inline mmask_t kc_all_mouse_events(void) { return ALL_MOUSE_EVENTS; }
static inline mmask_t kc_report_mouse_position(void) { return REPORT_MOUSE_POSITION; }
static inline mmask_t kc_button1_clicked(void) { return BUTTON1_CLICKED; }
static inline mmask_t kc_button4_pressed(void) { return BUTTON4_PRESSED; } /* wheel up */
static inline mmask_t kc_button5_pressed(void) { return BUTTON5_PRESSED; } /* wheel down */

/* Line-drawing characters are macros indexing runtime tables. */
static inline const cchar_t *kc_wacs_hline(void) { return WACS_HLINE; }
static inline const cchar_t *kc_wacs_vline(void) { return WACS_VLINE; }
static inline const cchar_t *kc_wacs_ltee(void)  { return WACS_LTEE; }
static inline const cchar_t *kc_wacs_rtee(void)  { return WACS_RTEE; }

/* Used by kamcon's terminal layer. */
#include <langinfo.h>
static inline int kc_set_attr(WINDOW *w, attr_t a, short pair) { return wattr_set(w, a, pair, (void *)0); }
static inline int kc_key_code_yes(void) { return KEY_CODE_YES; }
static inline int kc_err(void) { return ERR; }
/* 1 when the locale's codeset is UTF-8 (nl_langinfo's CODESET is a macro Swift cannot see). */
static inline int kc_locale_is_utf8(void) {
    const char *cs = nl_langinfo(CODESET);
    return cs && (cs[0] == 'U' || cs[0] == 'u') && (cs[1] == 'T' || cs[1] == 't') && (cs[2] == 'F' || cs[2] == 'f');
}

#endif
