declare const __PACKAGE_VERSION__: string | undefined;

/** This package's version, injected at build time (source runs under tests report a placeholder). */
export const coreVersion: string =
  typeof __PACKAGE_VERSION__ === 'string' ? __PACKAGE_VERSION__ : '0.0.0-source';
