/* main.c - magpie's entry point. */
#include "cli.h"

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	return mp_cli_main(argc, argv);
}
