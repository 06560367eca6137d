/*
 * cli.h - the command line: global options, commands, output formats.
 * main() is mp_cli_main(); it alone turns errors into exit codes.
 */
#ifndef MP_CLI_H
#define MP_CLI_H

#define MP_VERSION "0.1.0"

/* Returns the process exit status (sysexits.h). */
int mp_cli_main(int argc, char **argv);

#endif
