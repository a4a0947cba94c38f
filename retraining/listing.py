"""Finding photo files on disk: what counts as one, and what is skipped
without being opened (a FIFO, a socket, a device, a link loop, a name that
is not UTF-8), each with one warning naming it (no TensorFlow)."""

import os
import re
import stat

from retraining import UserError, warn

PHOTO_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.gif', '.bmp', '.webp')
URL = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*://')


def is_photo_name(file_name):
  """A photo's extension in any case; hidden files (macOS's `._photo.jpg`)
  are not photos."""
  return (not file_name.startswith('.')
          and os.path.splitext(file_name)[1].lower() in PHOTO_EXTENSIONS)


def is_class_folder(folder_name):
  """Every sub-folder of the image folder is a class, but hidden ones."""
  return not folder_name.startswith('.')


def is_class_photo(folder_name, file_name):
  """Whether `file_name` in the sub-folder `folder_name` of the image
  folder is listed as a photo of a class (by its name alone)."""
  return is_class_folder(folder_name) and is_photo_name(file_name)


def list_class_folders(image_dir):
  """Sorted names of the non-hidden sub-folders of `image_dir`."""
  try:
    entries = list(os.scandir(image_dir))
  except OSError as e:
    raise UserError('cannot read image folder %s (%s)' % (image_dir, e.strerror))
  folders = sorted(e.name for e in entries
                   if is_dir_entry(e) and is_class_folder(e.name))
  for folder in folders:
    if not is_utf8(folder):
      raise UserError('the name of folder %s is not UTF-8 text: rename it'
                      % printable(os.path.join(image_dir, folder)))
  return folders


def photo_names_in(folder_path):
  """Sorted file names of the photos in one folder. Files that are not
  regular (a FIFO, a socket, a device), links that go nowhere, and names
  that are not UTF-8 are skipped with a warning, never opened. The type
  comes with the listing (d_type): a plain file costs no extra call."""
  try:
    entries = list(os.scandir(folder_path))
  except OSError as e:
    raise UserError('cannot list class folder %s (%s): make it readable, or '
                    'move it out of the image folder' % (folder_path, e.strerror))
  return sorted(entry.name for entry in photo_entries(entries))


def photo_entries(entries):
  """The directory entries that are photos; those with a photo's name that
  cannot be read as one are warned of, by name."""
  for entry in entries:
    if not is_photo_name(entry.name) or is_dir_entry(entry):
      continue
    problem = not_a_photo_file(entry)
    if problem:
      warn('skipped %s: %s' % (printable(entry.path), problem))
    else:
      yield entry


def not_a_photo_file(entry):
  """Why a directory entry with a photo's name, not a folder, cannot be
  read as a photo, or None."""
  try:
    if not entry.is_file():
      return ('not a regular file (a FIFO, socket or device, or a link to '
              'nothing)')
  except OSError as e:  # A link loop: ELOOP.
    return 'cannot read it (%s)' % e.strerror
  if not is_utf8(entry.name):
    return 'its name is not UTF-8 text: rename it'
  return None


def photo_paths_under(folder):
  """Sorted paths of the photos in `folder` and its sub-folders (links to
  folders are not followed, as os.walk does not); special files are
  skipped with a warning (see photo_names_in)."""
  found = []
  try:
    entries = list(os.scandir(folder))
  except OSError as e:
    warn('cannot list folder %s (%s), skipped' % (printable(folder), e.strerror))
    return found
  for entry in entries:
    if entry.is_dir(follow_symlinks=False):
      found.extend(photo_paths_under(entry.path))
  found.extend(entry.path for entry in photo_entries(entries))
  return sorted(found)


def why_not_a_photo_file(path):
  """Why `path`, given as a photo, cannot be read as one, without opening
  it (a FIFO would wait for a writer forever); or None."""
  try:
    mode = os.stat(path).st_mode
  except FileNotFoundError:
    if URL.match(path):
      return ('URLs are not read: download the photo first (say, curl -O '
              'URL, or save it from the browser) and give its path')
    return 'no such file'
  except OSError as e:  # A link loop, a folder it may not enter.
    return 'cannot read it (%s)' % e.strerror
  if not stat.S_ISREG(mode):
    return 'not a regular file (a FIFO, socket or device): give a photo file'
  return None


def is_dir_entry(entry):
  try:
    return entry.is_dir()
  except OSError:  # A link loop is no folder.
    return False


def is_utf8(name):
  """Whether a name read from the disk was valid UTF-8 (Python keeps the
  bytes that are not as lone surrogates)."""
  try:
    name.encode('utf-8')
  except UnicodeEncodeError:
    return False
  return True


def printable(path):
  """`path` with the bytes of its name that are not UTF-8 shown as escapes
  (`caf\\xe9.jpg`)."""
  return os.fsencode(path).decode('utf-8', 'backslashreplace')
