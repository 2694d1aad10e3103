// The one entry point to @peculiar/x509: its dependency injection needs the Reflect
// metadata API loaded first (ES modules evaluate imports in order), so every file here
// imports the library through this module and never directly.
import 'reflect-metadata';

export * from '@peculiar/x509';
