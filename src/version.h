/* version.h: vmon's version, as `vmon --version` and the API's GET / report it. */
#ifndef VMON_VERSION_H
#define VMON_VERSION_H

#define VMON_VERSION "0.2.0"

#endif
