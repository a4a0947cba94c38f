"""Fonts for the class names in the figures, in any script.

Matplotlib's own font, DejaVu Sans, has no Hangul, and matplotlib ships no
CJK font. `fonts_for` adds koreanize-matplotlib's NanumGothic and the
installed fonts of the scripts in use to the fallback list, for the figures
drawn inside it only, and names in one line the letters no font has.
Matplotlib is imported inside the functions: only runs that draw need it.
"""

import contextlib
import importlib.util
import os
import unicodedata
import warnings

from retraining import warn

# Families tried, in order, for glyphs the default font lacks: matplotlib's
# DejaVu Sans has no Hangul, so Korean labels would be drawn as boxes.
CJK_FONT_FAMILIES = ('Noto Sans CJK KR', 'Noto Sans KR', 'Source Han Sans KR',
                     'NanumGothic', 'Malgun Gothic', 'Apple SD Gothic Neo',
                     'AppleGothic', 'Noto Sans CJK JP')
# Matplotlib ships no CJK font (matplotlib#22536), and most Linux servers have
# none: NanumGothic comes with the koreanize-matplotlib package, in this file.
KOREAN_FONT_PACKAGE = 'koreanize_matplotlib'
KOREAN_FONT_FILE = ('fonts', 'NanumGothic.ttf')
MISSING_GLYPH_WARNING = r'Glyph \d+ .* missing from font'
CJK_SCRIPTS = ('Han', 'Hiragana', 'Katakana', 'Bopomofo', 'Hangul')
MISSING_LETTERS_SHOWN = 5


@contextlib.contextmanager
def fonts_for(texts):
  """Fonts that draw `texts`, for the figures made inside.

  Matplotlib falls back glyph by glyph along font.family: after the user's
  families come the installed ones of CJK_FONT_FAMILIES (NanumGothic at
  least: see _add_bundled_korean_font) and 'Noto Sans <script>' for each
  script in `texts`. Letters that no font has are named in one line instead
  of matplotlib's warning per glyph, each with a source line.
  The settings last as long as the block: global rcParams are not changed.
  """
  import matplotlib
  _add_bundled_korean_font()
  family = (list(matplotlib.rcParams['font.family']) +
            _installed_families(CJK_FONT_FAMILIES + tuple(
                'Noto Sans %s' % script for script in _scripts(texts))))
  with matplotlib.rc_context({'font.family': family}), \
      warnings.catch_warnings():
    warnings.filterwarnings('ignore', message=MISSING_GLYPH_WARNING)
    _warn_of_missing_letters(texts)
    yield



def _add_bundled_korean_font():
  """Makes koreanize-matplotlib's NanumGothic one of matplotlib's fonts.

  The package is found, not imported: importing it makes NanumGothic the
  font of every figure (it sets matplotlib's global rcParams) and needs
  distutils, which Python 3.12 no longer has. Nothing happens without it.
  """
  from matplotlib import font_manager
  spec = importlib.util.find_spec(KOREAN_FONT_PACKAGE)
  if spec is None or not spec.submodule_search_locations:
    return
  path = os.path.join(spec.submodule_search_locations[0], *KOREAN_FONT_FILE)
  fonts = font_manager.fontManager.ttflist
  if os.path.exists(path) and path not in {font.fname for font in fonts}:
    font_manager.fontManager.addfont(path)



def _installed_families(names):
  """`names` that matplotlib has, in order: a missing one would be logged."""
  from matplotlib import font_manager
  installed = {font.name for font in font_manager.fontManager.ttflist}
  return [name for name in dict.fromkeys(names) if name in installed]



def _scripts(texts):
  """Unicode script names ('Hangul', 'Thai') of the non-ASCII letters."""
  from fontTools import unicodedata as scripts
  return sorted({scripts.script_name(scripts.script(c))
                 for c in set(''.join(texts)) if ord(c) > 127})



def _warn_of_missing_letters(texts):
  """One line naming the scripts of the letters no font in font.family has,
  and how to get a font for them."""
  by_script = {}
  for c in _missing_letters(texts):
    by_script.setdefault(_scripts([c])[0], []).append(c)
  if by_script:
    named = ' or '.join('%s (%s)' % (script, ''.join(_shown_letters(letters)))
                        for script, letters in sorted(by_script.items()))
    warn('no font here has %s letters: the figure shows them as boxes. To '
         'draw them, %s' % (named, _how_to_get_a_font(sorted(by_script))))



def _shown_letters(letters):
  """A few of `letters`, without the marks that only combine with others."""
  return [c for c in letters
          if not unicodedata.category(c).startswith('M')][:MISSING_LETTERS_SHOWN]



def _missing_letters(texts):
  """The characters of `texts` that no font of font.family has, sorted."""
  from matplotlib import font_manager
  fonts = []
  for family in font_manager.FontProperties().get_family():
    try:
      fonts.append(font_manager.get_font(font_manager.findfont(
          font_manager.FontProperties(family=family),
          fallback_to_default=False)))
    except ValueError:
      pass  # Not installed.
  return sorted(c for c in set(''.join(texts))
                if not c.isspace() and
                not any(font.get_char_index(ord(c)) for font in fonts))



def _how_to_get_a_font(scripts):
  """What to do to draw `scripts`, as one clause."""
  import matplotlib
  ways = ['pip install koreanize-matplotlib'] if 'Hangul' in scripts else []
  examples = sorted({'Noto Sans CJK' if script in CJK_SCRIPTS else
                     'Noto Sans %s' % script for script in scripts
                     if script not in ('Hangul', 'Common', 'Inherited',
                                       'Unknown')})
  if examples or scripts != ['Hangul']:
    ways.append('install a font that has them%s, then delete matplotlib\'s '
                'font list (fontlist-*.json in %s) so that it finds the font'
                % (' (%s)' % ', '.join(examples) if examples else '',
                   matplotlib.get_cachedir()))
  return '; for the others, '.join(ways)
