; Inno Setup 6 script: the per-machine HealthPrep Desktop installer for Windows (x64).
;
; Built by packaging\windows\build.ps1, which passes the version and the bundle folder:
;   ISCC.exe /DAppVersion=0.1.0 /DAppNumericVersion=0.1.0.0 /DSourceDir=...\dist\healthprep-desktop
;            /DOutputDir=...\dist packaging\windows\healthprep.iss
; Without /D values it reads the version from the built healthprep-desktop.exe (whose version
; resource the PyInstaller spec writes from healthprep_desktop.__version__) and uses
; ..\..\dist\healthprep-desktop.
;
; Upgrades: AppId never changes, so a newer installer replaces the older one in place (same
; folder, one entry in Apps & features). User data (the encrypted store, logs, caches) lives in
; the per-user platformdirs folders under %LOCALAPPDATA%\HealthPrep\HealthPrep Desktop, never in
; {app}; neither an upgrade nor the uninstaller touches it.
;
; Signing: build.ps1 defines SignInstaller and passes /Shealthprep=<signtool command> when
; WINDOWS_SIGN_CERT_SHA1 is set; the installer and uninstaller are then signed.

#define AppName "HealthPrep Desktop"
#define AppPublisher "HealthPrep"
#define AppGuiExe "healthprep-desktop-gui.exe"
#define AppCliExe "healthprep-desktop.exe"

#ifndef SourceDir
  #define SourceDir AddBackslash(SourcePath) + "..\..\dist\healthprep-desktop"
#endif
#ifndef OutputDir
  #define OutputDir AddBackslash(SourcePath) + "..\..\dist"
#endif
#ifndef AppVersion
  #define AppVersion GetStringFileInfo(AddBackslash(SourceDir) + AppCliExe, "ProductVersion")
#endif
#ifndef AppNumericVersion
  #define AppNumericVersion GetVersionNumbersString(AddBackslash(SourceDir) + AppCliExe)
#endif
#if AppVersion == ""
  #error "No version: build the bundle first (packaging\windows\build.ps1) or pass /DAppVersion"
#endif

[Setup]
; Fixed forever: Windows identifies the installed product by it (upgrade in place, uninstall).
AppId={{85AE50A8-4B57-454D-B9B2-4BB06F60B726}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
AppCopyright=HealthPrep
VersionInfoVersion={#AppNumericVersion}
VersionInfoProductVersion={#AppNumericVersion}
VersionInfoProductTextVersion={#AppVersion}
VersionInfoProductName={#AppName}
VersionInfoCompany={#AppPublisher}
VersionInfoDescription={#AppName} Setup
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UsePreviousAppDir=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0.17763
OutputDir={#OutputDir}
OutputBaseFilename=HealthPrep-Desktop-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; Close a running copy (Restart Manager) so its files can be replaced; do not relaunch it.
CloseApplications=yes
RestartApplications=no
UninstallDisplayName={#AppName}
UninstallDisplayIcon={app}\{#AppGuiExe}
SetupLogging=yes
#ifdef SignInstaller
SignTool=healthprep
SignedUninstaller=yes
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the whole bundle: modules and DLLs the new version no longer ships must not
; linger beside it. Only the program folder's own bundle is removed; user data is elsewhere.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppGuiExe}"; WorkingDir: "{app}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppGuiExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Registry]
; The healthprep:// URL scheme: an EHR launch (healthprep://launch?iss=...&launch=...) opens the
; app on the launched patient. HKA is HKLM here (PrivilegesRequired=admin): every user of the
; workstation gets the handler. The address is passed as one quoted argument, never through a
; shell. The uninstaller removes the whole key.
Root: HKA; Subkey: "Software\Classes\healthprep"; ValueType: string; ValueName: ""; ValueData: "URL:HealthPrep Desktop EHR launch"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\healthprep"; ValueType: string; ValueName: "URL Protocol"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\healthprep\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppGuiExe}"",0"
Root: HKA; Subkey: "Software\Classes\healthprep\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppGuiExe}"" ""%1"""

[Run]
; runasoriginaluser: the first launch must create the store in the signed-in user's profile, not
; in the profile of the administrator who approved the elevation.
Filename: "{app}\{#AppGuiExe}"; Description: "{cm:LaunchProgram,{#StringChange(AppName, '&', '&&')}}"; Flags: nowait postinstall skipifsilent runasoriginaluser

[UninstallDelete]
; Only what the installer put in {app}. The per-user data folders are deliberately kept: they
; hold the clinic's encrypted prep sheets and audit trail, which outlive a reinstall.
Type: filesandordirs; Name: "{app}\_internal"
