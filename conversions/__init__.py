"""Data 2 Data and Common application APIs: conversion services, tasks, assets, results."""
