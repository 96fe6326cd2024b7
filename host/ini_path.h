/* Finding the INI file a user names: `./train -c cyclegan.ini` works from any folder. */
#ifndef CLGAN_INI_PATH_H
#define CLGAN_INI_PATH_H
#include <stddef.h>

/* out = arg if that file exists; else, for a name without a folder, ini/<arg> under the current folder,
 * then ini/<arg> beside the running program (./train in the repository), then <arg>.ini in those
 * places; else arg itself (so the error names what the user typed). Returns 1 if it found another path. */
int ini_resolve(const char *arg, char *out, size_t outlen);

#endif
