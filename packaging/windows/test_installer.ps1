# Install, upgrade in place and uninstall the built installer on this machine (CI runner), and
# prove the user's data survives both. Needs an elevated shell (GitHub's runners are).
#
#   pwsh packaging\windows\test_installer.ps1 [-Setup dist\HealthPrep-Desktop-<v>-windows-x64-setup.exe]
param([string]$Setup = "")
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
if (-not $Setup) {
    $Setup = Get-ChildItem (Join-Path $Root "dist") -Filter "HealthPrep-Desktop-*-windows-x64-setup.exe" |
        Sort-Object LastWriteTime | Select-Object -Last 1 -ExpandProperty FullName
}
if (-not $Setup) { throw "no installer in dist\; run packaging\windows\build.ps1 first" }

$AppDir = Join-Path $env:ProgramFiles "HealthPrep Desktop"
$Cli = Join-Path $AppDir "healthprep-desktop.exe"
$UninstallKey = "HKLM:\Software\Microsoft\Windows\CurrentVersion\Uninstall\{85AE50A8-4B57-454D-B9B2-4BB06F60B726}_is1"
# platformdirs.user_data_dir("HealthPrep Desktop", "HealthPrep") on Windows.
$DataDir = Join-Path $env:LOCALAPPDATA "HealthPrep\HealthPrep Desktop"
$Marker = Join-Path $DataDir "installer-test-marker.txt"

function Install-Quietly([string]$Log) {
    $p = Start-Process -FilePath $Setup -Wait -PassThru -ArgumentList @(
        "/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART", "/TASKS=desktopicon", "/LOG=$Log")
    if ($p.ExitCode -ne 0) { Get-Content $Log -Tail 40; throw "installer exited with $($p.ExitCode)" }
}

Write-Host "install: $Setup"
Install-Quietly (Join-Path $env:TEMP "healthprep-install.log")
if (-not (Test-Path $Cli)) { throw "installer did not create $Cli" }
if (-not (Test-Path (Join-Path $AppDir "tesseract\tesseract.exe"))) { throw "bundled tesseract missing" }
if (-not (Test-Path $UninstallKey)) { throw "no uninstall entry at $UninstallKey" }
$Shortcut = Join-Path $env:ProgramData "Microsoft\Windows\Start Menu\Programs\HealthPrep Desktop.lnk"
if (-not (Test-Path $Shortcut)) { throw "no Start Menu shortcut at $Shortcut" }
& $Cli --version
if ($LASTEXITCODE -ne 0) { throw "installed app does not start" }

New-Item -ItemType Directory -Force -Path $DataDir | Out-Null
Set-Content -Path $Marker -Value "user data written before the upgrade"

Write-Host "upgrade in place (same installer again)"
Install-Quietly (Join-Path $env:TEMP "healthprep-upgrade.log")
$Entries = @(Get-ChildItem "HKLM:\Software\Microsoft\Windows\CurrentVersion\Uninstall" |
    Where-Object { (Get-ItemProperty $_.PSPath).DisplayName -eq "HealthPrep Desktop" })
if ($Entries.Count -ne 1) { throw "expected one Apps & features entry, found $($Entries.Count)" }
if (-not (Test-Path $Marker)) { throw "the upgrade deleted user data" }
$env:QT_QPA_PLATFORM = "offscreen"
& $Cli --bundle-check --require-ocr
if ($LASTEXITCODE -ne 0) { throw "installed bundle check failed" }
Remove-Item Env:QT_QPA_PLATFORM

Write-Host "uninstall"
$Uninstaller = (Get-ItemProperty $UninstallKey).UninstallString.Trim('"')
$p = Start-Process -FilePath $Uninstaller -Wait -PassThru -ArgumentList "/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART"
if ($p.ExitCode -ne 0) { throw "uninstaller exited with $($p.ExitCode)" }
# The uninstaller hands over to a copy of itself in %TEMP% and returns early; wait for the folder.
$Deadline = (Get-Date).AddMinutes(3)
while ((Test-Path $Cli) -and (Get-Date) -lt $Deadline) { Start-Sleep -Seconds 2 }
if (Test-Path $Cli) { throw "uninstall left $Cli behind" }
if (Test-Path $UninstallKey) { throw "uninstall left the Apps & features entry" }
if (-not (Test-Path $Marker)) { throw "the uninstaller deleted user data" }
Remove-Item -Force $Marker
Write-Host "installer test passed: install, upgrade in place, uninstall; user data kept"
